/**
 * The Users web app (the article's Flask app), on node:http.
 *
 *   npm run users:web -- [--port=5000] [--host=127.0.0.1] [--target=127.0.0.1:50051] [--timeout-ms=30000]
 *
 * `GET /users/` streams GetUsers results as NDJSON (see web-app.ts); `GET /` explains the endpoint.
 * Prints "Users web app listening on http://HOST:PORT/" once it serves; stops on SIGINT/SIGTERM.
 */
import { createServer } from "node:http";
import { createChannel, createClient, type Channel } from "tsgrpc";
import { parseArgs, parseMs, parsePort, runMain, UsageError } from "./cli-args.js";
import { Users } from "./gen/users_pb.js";
import { createUsersWebApp } from "./web-app.js";

const USAGE = `usage: npm run users:web -- [--port=M] [--host=ADDRESS] [--target=HOST:N] [--timeout-ms=MS]
  --port        HTTP port (default 5000; 0 picks a free one)
  --host        address to listen on (default 127.0.0.1)
  --target      the Users gRPC server (default 127.0.0.1:50051)
  --timeout-ms  timeout of each GetUsers call (default 30000)`;

const SHUTDOWN_GRACE_MS = 5000;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ["port", "host", "target", "timeout-ms"], USAGE);
  if (args.has("help")) {
    console.log(USAGE);
    return;
  }
  const port = parsePort(args.get("port"), 5000);
  const host = args.get("host") ?? "127.0.0.1";
  const target = args.get("target") ?? "127.0.0.1:50051";
  const timeoutMs = parseMs(args.get("timeout-ms"), 30_000, "timeout-ms");

  let channel: Channel;
  try {
    channel = createChannel(target);
  } catch (err) {
    throw new UsageError(`bad --target "${target}": ${err instanceof Error ? err.message : String(err)}`);
  }
  const app = createUsersWebApp({ users: createClient(Users, channel), timeoutMs, log: (line) => console.log(line) });
  const server = createServer(app);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    channel.close();
    throw err;
  }
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  console.log(`Users web app listening on http://${shownHost}:${bound}/ (gRPC target ${target})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: shutting down`);
    // Stop accepting; responses being streamed get a grace period, then everything is closed.
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    server.close(() => {
      clearTimeout(force);
      channel.close();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      console.log("Users web app stopped");
    });
    server.closeIdleConnections();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

await runMain(main);
