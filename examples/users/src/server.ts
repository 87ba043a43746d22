/**
 * The Users gRPC server (the article's server.py).
 *
 *   npm run users:server -- [--port=50051] [--host=127.0.0.1] [--stream-delay-ms=0]
 *
 * Prints "Users server listening on HOST:PORT" once it serves (with --port=0 the system picks the port),
 * logs every CreateUser call's metadata, and on SIGINT/SIGTERM stops gracefully: new calls are refused,
 * running ones get a few seconds to finish.
 */
import { createServer } from "tsgrpc";
import { addHealthService } from "tsgrpc/health";
import { parseArgs, parseMs, parsePort, runMain } from "./cli-args.js";
import { Users } from "./gen/users_pb.js";
import { createUsersService } from "./users-service.js";

const USAGE = `usage: npm run users:server -- [--port=N] [--host=ADDRESS] [--stream-delay-ms=MS]
  --port             port to listen on (default 50051; 0 picks a free one)
  --host             address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --stream-delay-ms  pause before each GetUsers result, to watch the stream (default 0)`;

const SHUTDOWN_GRACE_MS = 5000;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ["port", "host", "stream-delay-ms"], USAGE);
  if (args.has("help")) {
    console.log(USAGE);
    return;
  }
  const port = parsePort(args.get("port"), 50051);
  const host = args.get("host") ?? "127.0.0.1";
  const streamDelayMs = parseMs(args.get("stream-delay-ms"), 0, "stream-delay-ms");

  const server = createServer();
  server.addService(Users, createUsersService({ streamDelayMs }));
  // grpc.health.v1 for probes and load balancers: NOT_SERVING as soon as the server starts shutting down.
  addHealthService(server).setStatus(Users.typeName, "SERVING");
  const address = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const bound = await server.bind(`${address}:${port}`);
  console.log(`Users server listening on ${address}:${bound}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.log(`${signal} again: stopping now`);
      void server.forceShutdown();
      return;
    }
    stopping = true;
    console.log(`${signal} received: shutting down (running calls get ${SHUTDOWN_GRACE_MS / 1000} s)`);
    server.shutdown({ graceMs: SHUTDOWN_GRACE_MS }).then(
      () => {
        console.log("Users server stopped");
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      },
      (err: unknown) => {
        console.error(`error while shutting down: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

await runMain(main);
