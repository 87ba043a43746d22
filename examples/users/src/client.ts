/**
 * The Users command-line client (the article's client.py).
 *
 *   npm run users:client -- [--target=127.0.0.1:50051] [--username=tom] [--users=alexa,christie] [--ip=127.0.0.1]
 *
 * Signs up one user with CreateUser, then looks up several with GetUsers and prints each result as it
 * streams in. Every call carries the metadata `ip` and a 30 second timeout, as in the article. On any
 * failure it prints what went wrong and exits with status 1.
 */
import { createChannel, createClient, RpcError, codeName, type Channel } from "tsgrpc";
import { create } from "@bufbuild/protobuf";
import { parseArgs, runMain, UsageError } from "./cli-args.js";
import { Users } from "./gen/users_pb.js";
import { GetUsersRequestSchema, UserSchema, type User } from "./gen/users_types_pb.js";

const USAGE = `usage: npm run users:client -- [--target=HOST:PORT] [--username=NAME] [--users=A,B,...] [--ip=ADDRESS]
  --target    the Users server (default 127.0.0.1:50051)
  --username  the user to create (default tom)
  --users     the users to look up, comma-separated (default alexa,christie)
  --ip        the value of the "ip" metadata sent with each call (default 127.0.0.1)`;

/** The article's per-call timeout. */
const TIMEOUT_MS = 30_000;

function describe(user: User | undefined): string {
  return user === undefined ? "(no user)" : `${user.username} (user_id ${user.userId})`;
}

async function run(channel: Channel, args: Map<string, string>): Promise<void> {
  const users = createClient(Users, channel);
  const options = { timeoutMs: TIMEOUT_MS, metadata: { ip: args.get("ip") ?? "127.0.0.1" } };

  const created = await users.createUser({ username: args.get("username") ?? "tom" }, options);
  console.log(`User created: ${describe(created.user)}`);

  const names = (args.get("users") ?? "alexa,christie").split(",").map((n) => n.trim()).filter((n) => n !== "");
  const request = create(GetUsersRequestSchema, { user: names.map((username) => create(UserSchema, { username, userId: 1 })) });
  console.log(`GetUsers (${names.length} user(s)):`);
  let count = 0;
  for await (const result of users.getUsers(request, options)) {
    count++;
    console.log(`  user: ${describe(result.user)}`);
  }
  console.log(`GetUsers done: ${count} result(s)`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ["target", "username", "users", "ip"], USAGE);
  if (args.has("help")) {
    console.log(USAGE);
    return;
  }
  const target = args.get("target") ?? "127.0.0.1:50051";
  let channel: Channel;
  try {
    channel = createChannel(target);
  } catch (err) {
    throw new UsageError(`bad --target "${target}": ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    await run(channel, args);
  } catch (err) {
    if (err instanceof RpcError) {
      console.error(`error: call to the Users server at ${target} failed: ${codeName(err.code)}: ${err.details}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    channel.close();
  }
}

// `npm run users:client | head -1` closes our stdout early: stop quietly instead of crashing on EPIPE.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

await runMain(main);
