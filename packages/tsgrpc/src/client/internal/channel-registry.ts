import type { Channel } from "../channel.js";
import type { InterceptorChain } from "../interceptor.js";
import type { ChannelCore } from "./channel-core.js";

/** What entry points (callables, createClient, interceptChannel) need of a channel made here. */
export interface ChannelEntry {
  readonly core: ChannelCore;
  /** The interceptors of an intercepted channel; undefined for a plain one. */
  readonly chain: InterceptorChain | undefined;
}

/** Module-private: the public Channel type carries no internals, so they are looked up by identity. */
const entries = new WeakMap<object, ChannelEntry>();

export function registerChannel(channel: Channel, entry: ChannelEntry): void {
  entries.set(channel, entry);
}

/** The entry of a channel made by createChannel or interceptChannel; a TypeError for anything else. */
export function channelEntry(channel: Channel): ChannelEntry {
  const entry = entries.get(channel);
  if (entry === undefined) {
    throw new TypeError("not a tsgrpc channel: pass one made by createChannel (or interceptChannel)");
  }
  return entry;
}
