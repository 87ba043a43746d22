import { resolveDeadline } from "../../core/deadline.js";
import { Metadata } from "../../core/metadata.js";
import type { Deserializer, MethodKind, Serializer } from "../../core/method.js";
import type { ChannelEntry } from "../internal/channel-registry.js";
import type { ClientCall, ClientCallOptions } from "../pipeline/client-call.js";
import type { CallInfo } from "./call-info.js";
import type { CallOptions } from "./call-options.js";
import { pumpRequests, serialize, type RequestStream } from "./call-messages.js";
import { interceptedCall } from "./intercepted-call.js";
import { startNetworkCall, type ResponseSink } from "./network-call.js";
import { ResponseStream, SingleResponse } from "./response-shapes.js";

export { sendUncompressed, type RequestStream } from "./call-messages.js";

/** A unary or client-streaming call: await it for the response; it also carries the call's info. */
export type UnaryCall<Res> = Promise<Res> & CallInfo;
/** A server-streaming or bidi call: iterate it for the responses; it also carries the call's info. */
export type StreamingCall<Res> = AsyncIterable<Res> & CallInfo;

/** One method as the adapters need it: its path and how to turn messages into bytes and back. */
export interface CallableMethod<Req, Res> {
  readonly path: string;
  readonly serializeRequest: Serializer<Req>;
  readonly deserializeResponse: Deserializer<Res>;
}

/**
 * The four call kinds' public shapes. A call on an intercepted channel goes through the interceptor
 * chain (intercepted-call.ts), whose end is the same network call (network-call.ts) a plain call
 * starts directly: one pipeline, without a chain's promises and iterators when there are no interceptors.
 */

/** One request, one response. */
export function unaryCall<Req, Res>(channel: ChannelEntry, method: CallableMethod<Req, Res>, request: Req, options: CallOptions = {}): UnaryCall<Res> {
  if (channel.chain) return interceptedCall(channel.chain, "unary", method, [request], options) as UnaryCall<Res>;
  const response = new SingleResponse<Res>();
  const call = start(channel, method, "unary", options, response);
  const payload = serialize(method.serializeRequest, request, call);
  if (payload) call.sendMessage(payload);
  call.halfClose();
  return response.shape(call);
}

/** Many requests, one response. */
export function clientStreamingCall<Req, Res>(
  channel: ChannelEntry,
  method: CallableMethod<Req, Res>,
  requests: RequestStream<Req>,
  options: CallOptions = {},
): UnaryCall<Res> {
  if (channel.chain) return interceptedCall(channel.chain, "client_streaming", method, requests, options) as UnaryCall<Res>;
  const response = new SingleResponse<Res>();
  const call = start(channel, method, "client_streaming", options, response);
  void pumpRequests(call, method.serializeRequest, requests);
  return response.shape(call);
}

/** One request, a stream of responses. */
export function serverStreamingCall<Req, Res>(
  channel: ChannelEntry,
  method: CallableMethod<Req, Res>,
  request: Req,
  options: CallOptions = {},
): StreamingCall<Res> {
  if (channel.chain) return interceptedCall(channel.chain, "server_streaming", method, [request], options) as StreamingCall<Res>;
  const responses = new ResponseStream<Res>();
  const call = start(channel, method, "server_streaming", options, responses);
  const payload = serialize(method.serializeRequest, request, call);
  if (payload) call.sendMessage(payload);
  call.halfClose();
  return responses.shape(call);
}

/** A stream each way, independent of each other. */
export function bidiStreamingCall<Req, Res>(
  channel: ChannelEntry,
  method: CallableMethod<Req, Res>,
  requests: RequestStream<Req>,
  options: CallOptions = {},
): StreamingCall<Res> {
  if (channel.chain) return interceptedCall(channel.chain, "bidi_streaming", method, requests, options) as StreamingCall<Res>;
  const responses = new ResponseStream<Res>();
  const call = start(channel, method, "bidi_streaming", options, responses);
  void pumpRequests(call, method.serializeRequest, requests);
  return responses.shape(call);
}

function start<Req, Res>(channel: ChannelEntry, method: CallableMethod<Req, Res>, kind: MethodKind, options: CallOptions, sink: ResponseSink<Res>): ClientCall {
  return startNetworkCall(channel.core, method.path, kind, method.deserializeResponse, callOptionsOf(options), sink);
}

/** Call options as the pipeline takes them; bad ones throw here, synchronously. */
export function callOptionsOf(options: CallOptions): ClientCallOptions {
  return {
    deadline: resolveDeadline(options),
    metadata: options.metadata === undefined ? EMPTY_METADATA : Metadata.from(options.metadata),
    signal: options.signal,
    waitForReady: options.waitForReady,
    compression: options.compression,
    credentials: options.credentials,
  };
}

const EMPTY_METADATA = new Metadata();

