import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { MethodDefinition } from "../core/method.js";
import type { RequestOf, ResponseInitOf, ServiceDefinition } from "../protobuf/service-definition.js";
import type { ServerContext } from "./server-context.js";
import type {
  BidiStreamingHandler,
  ClientStreamingHandler,
  MethodHandler,
  ServerStreamingHandler,
  UnaryHandler,
} from "./method-handler.js";

/**
 * The handler a protobuf method needs, by its kind. Responses may be messages or plain init objects.
 * A method whose kind is not known to the type system (a descriptor loaded at run time) takes any
 * handler shape; the runtime still checks the kind.
 */
export type HandlerFor<M extends DescMethod> = DescMethod extends M
  ? (request: any, context: ServerContext) => any
  : M extends { methodKind: "unary" }
  ? UnaryHandler<RequestOf<M>, ResponseInitOf<M>>
  : M extends { methodKind: "server_streaming" }
    ? ServerStreamingHandler<RequestOf<M>, ResponseInitOf<M>>
    : M extends { methodKind: "client_streaming" }
      ? ClientStreamingHandler<RequestOf<M>, ResponseInitOf<M>>
      : M extends { methodKind: "bidi_streaming" }
        ? BidiStreamingHandler<RequestOf<M>, ResponseInitOf<M>>
        : never;

/**
 * A typed implementation of a protobuf service: one handler per method, keyed by the method's camelCase
 * name. A method left out answers UNIMPLEMENTED, like the reference API's generated servicer base class.
 */
export type ServiceImplementation<S extends DescService> = {
  [K in keyof S["method"]]?: HandlerFor<S["method"][K]>;
};

/** Pairs each method of `service` with its handler from `impl`; missing ones answer UNIMPLEMENTED. */
export function methodHandlersOf(service: ServiceDefinition, impl: Record<string, unknown>): Map<string, MethodHandler> {
  for (const name of Object.keys(impl)) {
    if (!(name in service.methods)) {
      throw new Error(`service ${service.typeName} has no method "${name}" (methods: ${Object.keys(service.methods).join(", ")})`);
    }
  }
  const handlers = new Map<string, MethodHandler>();
  for (const [name, method] of Object.entries(service.methods)) {
    const handler = impl[name];
    if (handler !== undefined && typeof handler !== "function") {
      throw new TypeError(`the implementation of ${method.path} must be a function`);
    }
    const run = handler === undefined ? unimplemented(method) : (handler as (...args: unknown[]) => unknown).bind(impl);
    handlers.set(method.path, {
      kind: method.kind,
      handler: run,
      deserializeRequest: method.deserializeRequest,
      serializeResponse: method.serializeResponse,
    } as MethodHandler);
  }
  return handlers;
}

function unimplemented(method: MethodDefinition<unknown, unknown>): () => never {
  return () => {
    throw new RpcError(Code.UNIMPLEMENTED, `method ${method.path} is not implemented`);
  };
}
