import { applyGrpcArgs, type ArgSide } from "../internal/grpc-args.js";
import { CHANNEL_ARGS, SERVER_ARGS, type ArgsOf } from "../internal/grpc-arg-names.js";

/**
 * gRPC channel-argument names a ServerOptions object also takes, next to its typed fields
 * (`{ "grpc.max_connection_age_ms": 60_000 }` is `{ maxConnectionAgeMs: 60_000 }`). docs/options.md lists
 * every name and the field it sets.
 */
export type ServerArgs = ArgsOf<typeof SERVER_ARGS>;

const SIDE: ArgSide = { where: "createServer", table: SERVER_ARGS, otherTable: CHANNEL_ARGS, otherWhere: "createChannel" };

/**
 * Server options with every gRPC name turned into its typed field; throws an Error for an unknown or
 * unsupported name (with the closest known name), a bad value, or a name that disagrees with its field.
 */
export function normalizeServerOptions<T extends object>(options: T): T {
  return applyGrpcArgs(options, SIDE);
}
