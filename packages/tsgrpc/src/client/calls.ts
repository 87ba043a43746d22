import { Code } from "../core/code.js";
import { resolveDeadline } from "../core/deadline.js";
import { Metadata } from "../core/metadata.js";
import type { Deserializer, Serializer } from "../core/method.js";
import { RpcError } from "../core/rpc-error.js";
import { errorFromStatus, type Status } from "../core/status.js";
import { MessageQueue } from "../internal/message-queue.js";
import type { CallHost } from "./call-host.js";
import { CallInfoSource, type CallInfo } from "./call-info.js";
import type { CallOptions } from "./call-options.js";
import { deserialize, pumpRequests, serialize, type RequestStream } from "./call-messages.js";
import { ClientCall, type CallListener } from "./client-call.js";
import { interceptedCall } from "./intercepted-call.js";
import { interceptorChainOf } from "./interceptor.js";

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

const RESPONSE_HIGH_WATER_MARK = 16;

function startCall(host: CallHost, path: string, options: CallOptions, listener: CallListener): ClientCall {
  const call = new ClientCall(host, path, {
    deadline: resolveDeadline(options),
    metadata: options.metadata === undefined ? EMPTY_METADATA : Metadata.from(options.metadata),
    signal: options.signal,
    waitForReady: options.waitForReady ?? false,
    compression: options.compression,
    credentials: options.credentials,
  }, listener);
  call.start();
  return call;
}

/** One request, one response. */
export function unaryCall<Req, Res>(host: CallHost, method: CallableMethod<Req, Res>, request: Req, options: CallOptions = {}): UnaryCall<Res> {
  // With interceptors the call goes through their chain; without, nothing extra is made (the fast path).
  const chain = interceptorChainOf(host);
  if (chain) return interceptedCall(chain, "unary", method, [request], options) as UnaryCall<Res>;
  const { call, response, info } = startSingleResponseCall(host, method, options);
  const payload = serialize(method.serializeRequest, request, call);
  if (payload) call.sendMessage(payload);
  call.halfClose();
  return Object.assign(response, info);
}

/** Many requests, one response. */
export function clientStreamingCall<Req, Res>(
  host: CallHost,
  method: CallableMethod<Req, Res>,
  requests: RequestStream<Req>,
  options: CallOptions = {},
): UnaryCall<Res> {
  const chain = interceptorChainOf(host);
  if (chain) return interceptedCall(chain, "client_streaming", method, requests, options) as UnaryCall<Res>;
  const { call, response, info } = startSingleResponseCall(host, method, options);
  void pumpRequests(call, method.serializeRequest, requests);
  return Object.assign(response, info);
}

/** One request, a stream of responses. */
export function serverStreamingCall<Req, Res>(
  host: CallHost,
  method: CallableMethod<Req, Res>,
  request: Req,
  options: CallOptions = {},
): StreamingCall<Res> {
  const chain = interceptorChainOf(host);
  if (chain) return interceptedCall(chain, "server_streaming", method, [request], options) as StreamingCall<Res>;
  const { call, responses } = startStreamingResponseCall(host, method, options);
  const payload = serialize(method.serializeRequest, request, call);
  if (payload) call.sendMessage(payload);
  call.halfClose();
  return responses;
}

/** A stream each way, independent of each other. */
export function bidiStreamingCall<Req, Res>(
  host: CallHost,
  method: CallableMethod<Req, Res>,
  requests: RequestStream<Req>,
  options: CallOptions = {},
): StreamingCall<Res> {
  const chain = interceptorChainOf(host);
  if (chain) return interceptedCall(chain, "bidi_streaming", method, requests, options) as StreamingCall<Res>;
  const { call, responses } = startStreamingResponseCall(host, method, options);
  void pumpRequests(call, method.serializeRequest, requests);
  return responses;
}

// ---- the two response shapes ------------------------------------------------------------------------

function startSingleResponseCall<Req, Res>(host: CallHost, method: CallableMethod<Req, Res>, options: CallOptions) {
  const source = new CallInfoSource();
  let resolve!: (value: Res) => void;
  let reject!: (error: RpcError) => void;
  const response = new Promise<Res>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller may watch only `status` (which never rejects): a failed call must not then crash the
  // process as an unhandled rejection. Awaiting the call itself still rejects.
  response.catch(() => undefined);
  let count = 0;
  let value: Res | undefined;
  const call: ClientCall = startCall(host, method.path, options, {
    onHeaders: (metadata) => source.gotHeaders(metadata),
    onMessage: (payload) => {
      if (++count > 1) {
        call.cancel(new RpcError(Code.UNIMPLEMENTED, `${method.path} sent more than one response message`));
        return;
      }
      value = deserialize(method.deserializeResponse, payload, call);
    },
    onStatus: (status) => {
      source.gotStatus(status);
      if (status.code !== Code.OK) reject(errorFromStatus(status));
      else if (count !== 1) reject(noResponseError(method.path, status));
      else resolve(value as Res);
    },
  });
  return { call, response, info: source.info(() => call.cancel()) };
}

function startStreamingResponseCall<Req, Res>(host: CallHost, method: CallableMethod<Req, Res>, options: CallOptions) {
  const source = new CallInfoSource();
  // The queue pauses the HTTP/2 stream when the consumer falls behind, and cancels the call if the
  // consumer stops iterating early.
  const queue: MessageQueue<Res> = new MessageQueue<Res>(
    RESPONSE_HIGH_WATER_MARK,
    (pause) => (pause ? call.pause() : call.resume()),
    () => call.cancel(new RpcError(Code.CANCELLED, "the caller stopped reading responses")),
  );
  const call: ClientCall = startCall(host, method.path, options, {
    onHeaders: (metadata) => source.gotHeaders(metadata),
    onMessage: (payload) => {
      const message = deserialize(method.deserializeResponse, payload, call);
      if (message !== undefined) queue.push(message);
    },
    onStatus: (status) => {
      source.gotStatus(status);
      if (status.code === Code.OK) queue.end();
      else queue.fail(errorFromStatus(status));
    },
  });
  const responses: StreamingCall<Res> = {
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    ...source.info(() => call.cancel()),
  };
  return { call, responses };
}

// ---- helpers ----------------------------------------------------------------------------------------

function noResponseError(path: string, status: Status): RpcError {
  return new RpcError(Code.UNIMPLEMENTED, `${path} ended OK without a response message`, status.metadata);
}

const EMPTY_METADATA = new Metadata();
