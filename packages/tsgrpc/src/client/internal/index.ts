// The channel's implementation and the way entry points find it; never exported from the package.
export { GrpcChannel, type ChannelInternals } from "./grpc-channel.js";
export { channelEntry, registerChannel, type ChannelEntry } from "./channel-registry.js";
export type { ChannelCore, ChannelCall, QueuedPick } from "./channel-core.js";
