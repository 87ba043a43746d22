import { applyGrpcArgs, type ArgSide } from "../internal/grpc-args.js";
import { CHANNEL_ARGS, SERVER_ARGS, type ArgsOf } from "../internal/grpc-arg-names.js";

/**
 * gRPC channel-argument names a ChannelOptions object also takes, next to its typed fields
 * (`{ "grpc.keepalive_time_ms": 30_000 }` is `{ keepaliveTimeMs: 30_000 }`). Options copied from grpcio
 * or grpc-js keep working; `Object.fromEntries(pythonStyleOptions)` turns a list of pairs into such an
 * object. docs/options.md lists every name and the field it sets.
 */
export type ChannelArgs = ArgsOf<typeof CHANNEL_ARGS>;

const SIDE: ArgSide = { where: "createChannel", table: CHANNEL_ARGS, otherTable: SERVER_ARGS, otherWhere: "createServer" };

/**
 * Channel options with every gRPC name turned into its typed field; throws an Error for an unknown or
 * unsupported name (with the closest known name), a bad value, or a name that disagrees with its field.
 */
export function normalizeChannelOptions<T extends object>(options: T): T {
  return applyGrpcArgs(options, SIDE);
}
