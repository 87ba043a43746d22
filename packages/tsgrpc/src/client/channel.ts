import type { ConnectivityState } from "./connectivity-state.js";
import { ChannelCredentials } from "./channel-credentials.js";
import type { ChannelOptions } from "./channel-options.js";
import { normalizeChannelOptions } from "./channel-args.js";
import { http2Connector } from "./connector/connector.js";
import { interceptChannel } from "./interceptor.js";
import { registerChannel } from "./internal/channel-registry.js";
import { GrpcChannel, type ChannelInternals } from "./internal/grpc-channel.js";

export type StateListener = (state: ConnectivityState) => void;

/**
 * A virtual connection to a target (reference: `grpc.Channel`). It connects lazily on the first call,
 * spreads calls over connections as its load-balancing policy says (pick_first: one connection for all
 * calls), and reconnects with backoff when a connection goes away. docs/client-channel.md shows the
 * layers under it.
 */
export interface Channel {
  readonly target: string;
  /** The current state; with `tryToConnect` an IDLE channel starts connecting. */
  getState(tryToConnect?: boolean): ConnectivityState;
  /**
   * Calls `listener` with the current state (soon after, not inside, this call) and then with every
   * state change, until unsubscribed; with `tryToConnect` an IDLE channel starts connecting (reference:
   * `subscribe(callback, try_to_connect)`). Returns the function that unsubscribes.
   */
  subscribe(listener: StateListener, tryToConnect?: boolean): () => void;
  /** Stops calling `listener` (reference: `unsubscribe`); the same as calling what `subscribe` returned. */
  unsubscribe(listener: StateListener): void;
  /**
   * Resolves once the channel is READY, connecting if needed; rejects with DEADLINE_EXCEEDED at the
   * deadline, CANCELLED on abort, UNAVAILABLE when the channel is closed (reference: `channel_ready_future`).
   */
  waitForReady(options?: WaitForReadyOptions): Promise<void>;
  /** Closes every connection; running calls end CANCELLED, new ones fail (reference: `close`). */
  close(): void;
}

export interface WaitForReadyOptions {
  /** Relative time limit; with `deadline` too, the earlier wins. */
  timeoutMs?: number;
  /** Absolute time limit (Date or ms since the epoch). */
  deadline?: Date | number;
  signal?: AbortSignal;
}

/**
 * Opens a channel to `target` in gRPC naming syntax: "host:port", "dns:[//authority/]host[:port]",
 * "ipv4:addr:port[,addr:port]", "ipv6:[addr]:port[,[addr]:port]", "unix:path", "unix:///abs/path",
 * "unix-abstract:name", or a scheme added with `registerResolver`. A target is not a URL: for
 * "https://host" write `createChannel("host:443", ChannelCredentials.tls())`. A malformed target (a
 * URL, an unknown `scheme://`, a bad port, an empty string) throws a TypeError, or a RangeError for a
 * port out of range, at once.
 */
export function createChannel(target: string, credentials?: ChannelCredentials, options?: ChannelOptions): Channel {
  return createChannelWith(target, credentials, options, { connector: http2Connector });
}

/**
 * createChannel with the internals chosen: the connector (an in-memory one in tests). Not exported from
 * the package.
 */
export function createChannelWith(
  target: string,
  credentials: ChannelCredentials | undefined,
  options: ChannelOptions | undefined,
  internals: ChannelInternals,
): Channel {
  // gRPC channel-argument names ("grpc.keepalive_time_ms") become typed fields; unknown ones throw.
  const { interceptors, ...typed } = normalizeChannelOptions(options ?? {});
  const channel = new GrpcChannel(target, credentials ?? ChannelCredentials.insecure(), typed, internals);
  registerChannel(channel, { core: channel, chain: undefined });
  return interceptors && interceptors.length > 0 ? interceptChannel(channel, ...interceptors) : channel;
}
