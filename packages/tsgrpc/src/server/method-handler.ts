import type { Deserializer, Serializer } from "../core/method.js";
import type { ServerContext } from "./server-context.js";

/** Handler shapes of the four call kinds. Responses may be returned or yielded, synchronously or not. */
export type UnaryHandler<Req, Res> = (request: Req, context: ServerContext) => Res | Promise<Res>;
export type ServerStreamingHandler<Req, Res> = (
  request: Req,
  context: ServerContext,
) => AsyncIterable<Res> | Iterable<Res> | Promise<AsyncIterable<Res> | Iterable<Res> | void>;
export type ClientStreamingHandler<Req, Res> = (requests: AsyncIterable<Req>, context: ServerContext) => Res | Promise<Res>;
export type BidiStreamingHandler<Req, Res> = (
  requests: AsyncIterable<Req>,
  context: ServerContext,
) => AsyncIterable<Res> | Iterable<Res> | Promise<AsyncIterable<Res> | Iterable<Res> | void>;

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
