import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
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
  return (value) => toBinary(schema, isMessage(value, schema) ? value : create(schema, value as never));
}

function deserializerFor(schema: DescMessage): (bytes: Uint8Array) => unknown {
  return (bytes) => fromBinary(schema, bytes);
}
