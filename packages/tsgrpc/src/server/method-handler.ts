import type { Deserializer, Serializer } from "../core/method.js";
import type { ServerContext } from "./server-context.js";

/**
 * Handler shapes of the four call kinds. Responses may be returned or yielded, synchronously or not.
 *
 * Every shape may also return nothing (`void`). That is what lets a handler whose only way out is
 * `ctx.abort(...)` (or a `throw`) type-check without a dead `return`: TypeScript does not treat a call
 * to `ctx.abort()` as ending the function when `ctx` is a parameter typed from context, so such a
 * handler is inferred to return `void` / `Promise<void>`. At run time a unary or client-streaming
 * handler that returns nothing ends the call with the status set by `ctx.setStatus(code, details)` if
 * that is not OK (as grpcio does when a servicer sets a code and returns None), and otherwise fails
 * INTERNAL ("handler for /pkg.Svc/Method returned no response"); it never sends an empty message. A
 * streaming handler that returns nothing has simply sent no messages.
 */
export type UnaryHandler<Req, Res> = (request: Req, context: ServerContext) => Res | void | Promise<Res | void>;
export type ServerStreamingHandler<Req, Res> = (
  request: Req,
  context: ServerContext,
) => AsyncIterable<Res> | Iterable<Res> | void | Promise<AsyncIterable<Res> | Iterable<Res> | void>;
export type ClientStreamingHandler<Req, Res> = (
  requests: AsyncIterable<Req>,
  context: ServerContext,
) => Res | void | Promise<Res | void>;
export type BidiStreamingHandler<Req, Res> = (
  requests: AsyncIterable<Req>,
  context: ServerContext,
) => AsyncIterable<Res> | Iterable<Res> | void | Promise<AsyncIterable<Res> | Iterable<Res> | void>;

/**
 * One servable method, codec-agnostic: how to read requests, write responses, and what to run (the
 * reference API's RpcMethodHandler).
 */
export type MethodHandler<Req = any, Res = any> =
  | { kind: "unary"; handler: UnaryHandler<Req, Res>; deserializeRequest: Deserializer<Req>; serializeResponse: Serializer<Res> }
  | { kind: "server_streaming"; handler: ServerStreamingHandler<Req, Res>; deserializeRequest: Deserializer<Req>; serializeResponse: Serializer<Res> }
  | { kind: "client_streaming"; handler: ClientStreamingHandler<Req, Res>; deserializeRequest: Deserializer<Req>; serializeResponse: Serializer<Res> }
  | { kind: "bidi_streaming"; handler: BidiStreamingHandler<Req, Res>; deserializeRequest: Deserializer<Req>; serializeResponse: Serializer<Res> };

/** reference: `unary_unary_rpc_method_handler` */
export function unaryMethodHandler<Req, Res>(
  handler: UnaryHandler<Req, Res>,
  deserializeRequest: Deserializer<Req>,
  serializeResponse: Serializer<Res>,
): MethodHandler<Req, Res> {
  return { kind: "unary", handler, deserializeRequest, serializeResponse };
}

/** reference: `unary_stream_rpc_method_handler` */
export function serverStreamingMethodHandler<Req, Res>(
  handler: ServerStreamingHandler<Req, Res>,
  deserializeRequest: Deserializer<Req>,
  serializeResponse: Serializer<Res>,
): MethodHandler<Req, Res> {
  return { kind: "server_streaming", handler, deserializeRequest, serializeResponse };
}

/** reference: `stream_unary_rpc_method_handler` */
export function clientStreamingMethodHandler<Req, Res>(
  handler: ClientStreamingHandler<Req, Res>,
  deserializeRequest: Deserializer<Req>,
  serializeResponse: Serializer<Res>,
): MethodHandler<Req, Res> {
  return { kind: "client_streaming", handler, deserializeRequest, serializeResponse };
}

/** reference: `stream_stream_rpc_method_handler` */
export function bidiStreamingMethodHandler<Req, Res>(
  handler: BidiStreamingHandler<Req, Res>,
  deserializeRequest: Deserializer<Req>,
  serializeResponse: Serializer<Res>,
): MethodHandler<Req, Res> {
  return { kind: "bidi_streaming", handler, deserializeRequest, serializeResponse };
}
