import type { CompressionName } from "../protocol/compression.js";
import type { ClientKeepaliveOptions, Http2Tuning } from "../transport/transport.js";
import type { BackoffOptions } from "./subchannel/backoff.js";
import type { ChannelArgs } from "./channel-args.js";
import type { ClientInterceptor } from "./interceptor.js";

/** Channel-wide settings; every field is optional and has the gRPC default. */
export interface ChannelOptions extends Http2Tuning, ClientKeepaliveOptions, ChannelArgs {
  /**
   * Interceptors every call of the channel goes through, first listed first (reference:
   * `intercept_channel`); see docs/interceptors.md. The same as `interceptChannel(channel, ...interceptors)`.
   */
  interceptors?: readonly ClientInterceptor[];
  /** Request compression for calls that do not choose one ("gzip", "deflate"; default identity). */
  compression?: CompressionName;
  /** Largest response message accepted, after decompression (default 4 MiB). */
  maxReceiveMessageLength?: number;
  /** Largest request message sent (default unlimited). */
  maxSendMessageLength?: number;
  /**
   * How long one connection attempt may take at least (default 20 s); an attempt may also use up the
   * current backoff delay when that is longer (doc/connection-backoff.md, MIN_CONNECT_TIMEOUT).
   */
  connectTimeoutMs?: number;
  /**
   * A channel without calls for this long closes its connection and goes IDLE; the next call connects
   * again (default 30 min; reference: `grpc.client_idle_timeout_ms`). Infinity never idles.
   */
  idleTimeoutMs?: number;
  /** Reconnect backoff (default 1 s initial, ×1.6, jitter 0.2, 120 s max). */
  backoff?: BackoffOptions;
  /**
   * The default service config, as JSON text (reference: `grpc.service_config`), used when the resolver
   * supplies none. Only `loadBalancingConfig` is read so far, e.g. `{"loadBalancingConfig":
   * [{"round_robin": {}}]}` (policies: pick_first, the default, and round_robin); invalid JSON or no
   * supported policy throws at createChannel.
   */
  serviceConfig?: string;
  /** Put before tsgrpc's own `user-agent`. */
  userAgent?: string;
  /** The `:authority` of calls, instead of the target's host:port. */
  authority?: string;
  /**
   * For tests: the name the server certificate must carry, and the `:authority` sent (reference:
   * `grpc.ssl_target_name_override`).
   */
  serverNameOverride?: string;
}

export const DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH = 4 * 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
