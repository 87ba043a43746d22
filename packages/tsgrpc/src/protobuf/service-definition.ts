import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, Message, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { MethodDefinition } from "../core/method.js";

/**
 * A service as the codec-agnostic runtime sees it: its full name and, by method name in camelCase, each
 * method's path, kind and (de)serializers. Protobuf-es descriptors (`GenService`) are turned into this by
 * `protobufService`; hand-written definitions work the same for any other codec.
 */
export interface ServiceDefinition {
  /** "package.Service" (just "Service" without a package). */
  readonly typeName: string;
  readonly methods: Readonly<Record<string, MethodDefinition<any, any>>>;
}

export function isServiceDefinition(value: DescService | ServiceDefinition): value is ServiceDefinition {
  return (value as DescService).kind !== "service";
}

/** The request and response types of a protobuf method, as handlers and callers see them. */
export type RequestOf<M extends DescMethod> = MessageShape<M["input"]>;
export type ResponseOf<M extends DescMethod> = MessageShape<M["output"]>;
/** What may be passed where a message is expected: the message itself or a plain init object. */
export type RequestInitOf<M extends DescMethod> = MessageInitShape<M["input"]>;
export type ResponseInitOf<M extends DescMethod> = MessageInitShape<M["output"]>;

/**
 * A message of a method whose message types are known only at run time: a method of a service
 * descriptor typed as plain `DescService` (from `loadProtos(...).service(...)` of @tsgrpc/proto-loader, a
 * registry, or `createFileRegistry`). At run time it is a real protobuf-es message: `$typeName`, the
 * fields as properties named by their camelCase localName, and `toJson(method.output, message)` works.
 * The field values are `unknown` to the type system, because they are: check them where they are used,
 * or turn the message into JSON with its schema.
 */
export type DynamicMessage = Message & Record<string, unknown>;

/**
 * What may be sent where a message of a run-time-only type is expected: a message, or a plain object
 * with fields by their localName (what `create(schema, init)` takes; unknown names are ignored).
 */
export type DynamicMessageInit = Record<string, unknown>;

const cache = new WeakMap<DescService, ServiceDefinition>();

/** The ServiceDefinition of a protobuf-es service descriptor (memoized: descriptors are immutable). */
export function protobufService(service: DescService): ServiceDefinition {
  let definition = cache.get(service);
  if (!definition) {
    const methods: Record<string, MethodDefinition<any, any>> = {};
    for (const method of service.methods) methods[method.localName] = protobufMethod(method);
    definition = { typeName: service.typeName, methods };
    cache.set(service, definition);
  }
  return definition;
}

/** One protobuf method as a MethodDefinition: binary protobuf on the wire, init objects accepted on send. */
export function protobufMethod(method: DescMethod): MethodDefinition<any, any> {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    kind: method.methodKind,
    serializeRequest: serializerFor(method.input),
    deserializeRequest: deserializerFor(method.input),
    serializeResponse: serializerFor(method.output),
    deserializeResponse: deserializerFor(method.output),
  };
}

function serializerFor(schema: DescMessage): (value: unknown) => Uint8Array {
  return (value) => {
    if (isMessage(value, schema)) return toBinary(schema, value);
    // create() would make an empty message of an array or a stream: say what went wrong instead (the
    // easy mistake with a run-time service, whose method types accept a request or a stream).
    if (isStreamLike(value)) throw new TypeError(`expected one ${schema.typeName} (a message or init object), got ${Array.isArray(value) ? "an array" : "an iterable"}`);
    return toBinary(schema, create(schema, value as never));
  };
}

function isStreamLike(value: unknown): boolean {
  return typeof value === "object" && value !== null && (Array.isArray(value) || Symbol.iterator in value || Symbol.asyncIterator in value);
}

function deserializerFor(schema: DescMessage): (bytes: Uint8Array) => unknown {
  return (bytes) => fromBinary(schema, bytes);
}
