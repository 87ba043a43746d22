import type { CompressionName } from "../protocol/compression.js";
import type { ArgRule, ArgTable } from "./grpc-args.js";

/**
 * The gRPC channel-argument names tsgrpc understands, per side, and the typed option field each one sets.
 * The names are those of gRPC Core (grpc/impl/channel_arg_names.h), which grpcio, grpc-js and most other
 * implementations share. docs/options.md shows the same tables to users; a test keeps the two in step.
 */

const onlyPickFirst = (value: unknown): boolean => value === "pick_first";
const onlyZero = (value: unknown): boolean => value === 0 || value === false;
const zeroOrOne = (value: unknown): boolean => value === 0 || value === 1 || value === false || value === true;

/** Names both sides take, with the same meaning. */
const SHARED = {
  "grpc.max_receive_message_length": { field: "maxReceiveMessageLength", value: "message-length" },
  "grpc.max_send_message_length": { field: "maxSendMessageLength", value: "message-length" },
  "grpc.max_concurrent_streams": { field: "maxConcurrentStreams", value: "count" },
  "grpc.default_compression_algorithm": { field: "compression", value: "compression" },
  "grpc.max_metadata_size": { field: "maxMetadataSize", value: "count" },
  "grpc.keepalive_time_ms": { field: "keepaliveTimeMs", value: "ms" },
  "grpc.keepalive_timeout_ms": { field: "keepaliveTimeoutMs", value: "ms" },
  "grpc.keepalive_permit_without_calls": { field: "keepalivePermitWithoutCalls", value: "bool" },
  "grpc.enable_channelz": { ignored: "channelz is not built yet, so only 0 is accepted", accepts: onlyZero },
} as const satisfies ArgTable;

export const CHANNEL_ARGS = {
  ...SHARED,
  "grpc.http2.max_pings_without_data": {
    ignored: "tsgrpc's keepalive follows A8, which has no such limit (gRPC Core plans to drop it too); every value is accepted",
    accepts: (value: unknown) => typeof value === "number",
  },
  "grpc.ssl_target_name_override": { field: "serverNameOverride", value: "string" },
  "grpc.primary_user_agent": { field: "userAgent", value: "string" },
  "grpc.secondary_user_agent": { unsupported: "put the whole prefix in userAgent (grpc.primary_user_agent)" },
  "grpc.default_authority": { field: "authority", value: "string" },
  "grpc.initial_reconnect_backoff_ms": { field: "backoff.initialMs", value: "ms" },
  "grpc.max_reconnect_backoff_ms": { field: "backoff.maxMs", value: "ms" },
  "grpc.min_reconnect_backoff_ms": { field: "connectTimeoutMs", value: "ms" },
  "grpc.client_idle_timeout_ms": { field: "idleTimeoutMs", value: "ms" },
  "grpc.enable_retries": {
    ignored:
      "tsgrpc has no configured retries (no service config); it only replays, transparently, a call the server refused " +
      "before processing it (REFUSED_STREAM or past a GOAWAY), which is always safe. Both 0 and 1 are accepted",
    accepts: zeroOrOne,
  },
  "grpc.lb_policy_name": {
    ignored: "only pick_first is accepted here; choose round_robin with grpc.service_config's loadBalancingConfig: [{\"round_robin\": {}}]",
    accepts: onlyPickFirst,
  },
  "grpc.use_local_subchannel_pool": {
    ignored: "every tsgrpc channel owns its connections, which is what 1 asks for; 0 and 1 are accepted",
    accepts: zeroOrOne,
  },
  "grpc.enable_http_proxy": { ignored: "tsgrpc does not connect through HTTP proxies, so only 0 is accepted", accepts: onlyZero },
  "grpc.service_config": { field: "serviceConfig", value: "string" },
} as const satisfies ArgTable;

export const SERVER_ARGS = {
  ...SHARED,
  "grpc.http2.min_ping_interval_without_data_ms": { field: "keepaliveMinTimeMs", value: "ms" },
  "grpc.http2.max_ping_strikes": {
    ignored: "tsgrpc's server tolerates 2 pings that come too early (gRPC's default) before GOAWAY too_many_pings, so only 2 is accepted",
    accepts: (value: unknown) => value === 2,
  },
  "grpc.max_connection_idle_ms": { field: "maxConnectionIdleMs", value: "ms" },
  "grpc.max_connection_age_ms": { field: "maxConnectionAgeMs", value: "ms" },
  "grpc.max_connection_age_grace_ms": { field: "maxConnectionAgeGraceMs", value: "ms" },
  "grpc.server_handshake_timeout_ms": { field: "handshakeTimeoutMs", value: "ms" },
  "grpc.so_reuseport": { ignored: "Node listens without SO_REUSEPORT, so only 0 is accepted", accepts: onlyZero },
  "grpc.service_config": { unsupported: "a service config is the client's: give it to createChannel" },
} as const satisfies ArgTable;

/** TypeScript types of the names: what a value given under each one may be. Unsupported names are left out. */
type ValueType<R> = R extends { value: "bool" }
  ? number | boolean
  : R extends { value: "string" }
    ? string
    : R extends { value: "compression" }
      ? number | CompressionName
      : R extends { value: string }
        ? number
        : R extends { ignored: string }
          ? number | string | boolean
          : never;

export type ArgsOf<T> = {
  -readonly [K in keyof T as T[K] extends { unsupported: string } ? never : K]?: ValueType<T[K]>;
};

/** For tests and docs: every rule of a side. */
export function rulesOf(table: ArgTable): Array<[string, ArgRule]> {
  return Object.entries(table);
}
