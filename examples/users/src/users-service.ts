/**
 * The Users service of the article "Using gRPC in Python", in TypeScript.
 *
 *   CreateUser  simulates a sign-up: answers the requested username with a new, increasing user id, and
 *               logs the call's metadata (the article prints `dict(context.invocation_metadata())`).
 *   GetUsers    simulates a lookup: streams back one GetUsersResult per requested user, in order.
 */
import { create } from "@bufbuild/protobuf";
import { Code, isBinaryKey, RpcError, type Metadata, type ServerContext, type ServiceImplementation } from "tsgrpc";
import type { Users } from "./gen/users_pb.js";
import {
  CreateUserResultSchema,
  GetUsersResultSchema,
  UserSchema,
  type CreateUserRequest,
  type CreateUserResult,
  type GetUsersRequest,
  type GetUsersResult,
} from "./gen/users_types_pb.js";

export interface UsersServiceOptions {
  /** Where log lines go (default: console.log). */
  log?: (line: string) => void;
  /** The id the first created user gets (default 1); each further user gets the next one. */
  firstUserId?: number;
  /** A pause before each GetUsers result, to watch the stream arrive piece by piece (default 0). */
  streamDelayMs?: number;
}

/** Metadata as a plain JSON-able object: each key to its list of values, binary ones in base64. */
export function metadataToJson(metadata: Metadata): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of metadata) {
    const text = typeof value === "string" && !isBinaryKey(key) ? value : Buffer.from(value).toString("base64");
    (out[key] ??= []).push(text);
  }
  return out;
}

/** "29.97 s" for a call with a deadline, "none" without. */
function describeDeadline(ctx: ServerContext): string {
  const left = ctx.timeRemaining();
  return left === Infinity ? "none" : `${(left / 1000).toFixed(2)} s left`;
}

/** Waits `ms`, or throws CANCELLED as soon as the call ends (client gone, deadline passed, shutdown). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new RpcError(Code.CANCELLED, "call ended"));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new RpcError(Code.CANCELLED, "call ended"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The Users servicer; pass it to `server.addService(Users, createUsersService())`. */
export function createUsersService(options: UsersServiceOptions = {}): ServiceImplementation<typeof Users> {
  const log = options.log ?? ((line: string) => console.log(line));
  const delayMs = options.streamDelayMs ?? 0;
  let nextUserId = options.firstUserId ?? 1;

  return {
    async createUser(request: CreateUserRequest, ctx: ServerContext): Promise<CreateUserResult> {
      log(`CreateUser metadata: ${JSON.stringify(metadataToJson(ctx.metadata))}`);
      log(`CreateUser from ${ctx.peer}, deadline: ${describeDeadline(ctx)}`);
      if (request.username === "") throw new RpcError(Code.INVALID_ARGUMENT, "username must not be empty");
      const user = create(UserSchema, { username: request.username, userId: nextUserId++ });
      return create(CreateUserResultSchema, { user });
    },

    async *getUsers(request: GetUsersRequest, ctx: ServerContext): AsyncGenerator<GetUsersResult> {
      log(`GetUsers for ${request.user.length} user(s) from ${ctx.peer}`);
      for (const wanted of request.user) {
        if (delayMs > 0) await pause(delayMs, ctx.signal);
        const user = create(UserSchema, { username: wanted.username, userId: wanted.userId });
        yield create(GetUsersResultSchema, { user });
      }
    },
  };
}
