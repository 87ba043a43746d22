// The layers of one call under the interceptors: config selector → retrying call → balanced call →
// subchannel call (see docs/client-channel.md). Internal: nothing here is public API.
export { ClientCall, type CallListener, type ClientCallOptions } from "./client-call.js";
export { defaultConfigSelector, type ConfigSelector, type MethodConfig } from "./config-selector.js";
export type { CallStream, CallStreamListener, AttemptListener, CallHead } from "./call-stream.js";
