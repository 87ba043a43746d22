import { passThrough, type Deserializer, type Serializer } from "../core/method.js";
import type { CallOptions } from "./call/call-options.js";
import type { Channel } from "./channel.js";
import { channelEntry } from "./internal/channel-registry.js";
import {
  bidiStreamingCall,
  clientStreamingCall,
  serverStreamingCall,
  unaryCall,
  type CallableMethod,
  type RequestStream,
  type StreamingCall,
  type UnaryCall,
} from "./call/calls.js";

/**
 * Codec-agnostic callables for the four call kinds, named as in the reference API
 * (`channel.unary_unary(method, request_serializer, response_deserializer)` and its siblings). Without
 * serializers, requests and responses are raw bytes.
 */
export type UnaryCallable<Req, Res> = (request: Req, options?: CallOptions) => UnaryCall<Res>;
export type ServerStreamingCallable<Req, Res> = (request: Req, options?: CallOptions) => StreamingCall<Res>;
export type ClientStreamingCallable<Req, Res> = (requests: RequestStream<Req>, options?: CallOptions) => UnaryCall<Res>;
export type BidiStreamingCallable<Req, Res> = (requests: RequestStream<Req>, options?: CallOptions) => StreamingCall<Res>;

function methodOf<Req, Res>(path: string, serializeRequest?: Serializer<Req>, deserializeResponse?: Deserializer<Res>): CallableMethod<Req, Res> {
  return {
    path,
    serializeRequest: serializeRequest ?? (passThrough as unknown as Serializer<Req>),
    deserializeResponse: deserializeResponse ?? (passThrough as unknown as Deserializer<Res>),
  };
}

export function unaryUnary<Req = Uint8Array, Res = Uint8Array>(
  channel: Channel,
  path: string,
  serializeRequest?: Serializer<Req>,
  deserializeResponse?: Deserializer<Res>,
): UnaryCallable<Req, Res> {
  const method = methodOf(path, serializeRequest, deserializeResponse);
  const entry = channelEntry(channel);
  return (request, options) => unaryCall(entry, method, request, options);
}

export function unaryStream<Req = Uint8Array, Res = Uint8Array>(
  channel: Channel,
  path: string,
  serializeRequest?: Serializer<Req>,
  deserializeResponse?: Deserializer<Res>,
): ServerStreamingCallable<Req, Res> {
  const method = methodOf(path, serializeRequest, deserializeResponse);
  const entry = channelEntry(channel);
  return (request, options) => serverStreamingCall(entry, method, request, options);
}

export function streamUnary<Req = Uint8Array, Res = Uint8Array>(
  channel: Channel,
  path: string,
  serializeRequest?: Serializer<Req>,
  deserializeResponse?: Deserializer<Res>,
): ClientStreamingCallable<Req, Res> {
  const method = methodOf(path, serializeRequest, deserializeResponse);
  const entry = channelEntry(channel);
  return (requests, options) => clientStreamingCall(entry, method, requests, options);
}

export function streamStream<Req = Uint8Array, Res = Uint8Array>(
  channel: Channel,
  path: string,
  serializeRequest?: Serializer<Req>,
  deserializeResponse?: Deserializer<Res>,
): BidiStreamingCallable<Req, Res> {
  const method = methodOf(path, serializeRequest, deserializeResponse);
  const entry = channelEntry(channel);
  return (requests, options) => bidiStreamingCall(entry, method, requests, options);
}
