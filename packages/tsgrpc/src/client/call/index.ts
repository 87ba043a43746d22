// The four call kinds' shapes over the pipeline, with and without interceptors.
export { unaryCall, clientStreamingCall, serverStreamingCall, bidiStreamingCall, sendUncompressed } from "./calls.js";
export type { UnaryCall, StreamingCall, RequestStream, CallableMethod } from "./calls.js";
export type { CallInfo } from "./call-info.js";
export type { CallOptions } from "./call-options.js";
