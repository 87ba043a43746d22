// One connection to one address, with its own state and backoff.
export { Subchannel, type SubchannelContext, type SubchannelListener } from "./subchannel.js";
export { Backoff, type BackoffOptions } from "./backoff.js";
