export { createChannel, type Channel, type StateListener, type WaitForReadyOptions } from "./channel.js";
export type { ChannelOptions } from "./channel-options.js";
export { ChannelCredentials, type TlsChannelOptions } from "./channel-credentials.js";
export { CallCredentials, type MetadataPlugin, type AuthMetadataContext } from "./call-credentials.js";
export { ConnectivityState } from "./connectivity-state.js";
export type { CallOptions } from "./call/call-options.js";
export type { CallInfo } from "./call/call-info.js";
export { sendUncompressed, type UnaryCall, type StreamingCall, type RequestStream } from "./call/calls.js";
export {
  unaryUnary,
  unaryStream,
  streamUnary,
  streamStream,
  type UnaryCallable,
  type ServerStreamingCallable,
  type ClientStreamingCallable,
  type BidiStreamingCallable,
} from "./callables.js";
export {
  createClient,
  type Client,
  type ClientMethod,
  type DynamicClientMethod,
  type DynamicCall,
} from "./typed-client.js";
export { registerResolver, type Resolver, type Target } from "./resolver/index.js";
export type { BackoffOptions } from "./subchannel/backoff.js";
export {
  interceptChannel,
  respond,
  type ClientInterceptor,
  type ClientCallDetails,
  type ClientCallResult,
  type ClientCallFn,
} from "./interceptor.js";
export type { ClientOptions } from "./typed-client.js";
export type { ChannelArgs } from "./channel-args.js";
