// The RouteGuide server, from the command line:
//   npm run route_guide:server -- [--port=50051] [--host=127.0.0.1] [--db=route_guide_db.json]
// Serves until SIGINT or SIGTERM, then shuts down gracefully (running calls get a few seconds).
import { parseArgs } from "node:util";
import { createServer } from "tsgrpc";
import { addHealthService } from "tsgrpc/health";
import { DEFAULT_DB_PATH, FeatureDbError, loadFeatures } from "./db.js";
import { RouteGuide } from "./gen/route_guide_pb.js";
import { createRouteGuideService } from "./route-guide-service.js";

const USAGE = `usage: route_guide server [--port=N] [--host=ADDRESS] [--db=FILE]
  --port=N        port to listen on (default 50051; 0 picks a free one)
  --host=ADDRESS  address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)
  --db=FILE       feature database, JSON (default: the example's route_guide_db.json)`;

const GRACE_MS = 5000;

interface ServerArgs {
  port: number;
  host: string;
  db: string;
}

function parseCommandLine(argv: string[]): ServerArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "50051" },
      host: { type: "string", default: "127.0.0.1" },
      db: { type: "string", default: DEFAULT_DB_PATH },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  if (values.host === "") throw new UsageError("--host must not be empty");
  return { port, host: values.host, db: values.db };
}

class UsageError extends Error {}

/** "host:port" for bind and for the log, with brackets around an IPv6 address. */
function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function main(): Promise<void> {
  let args: ServerArgs;
  try {
    args = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    console.error(`route_guide server: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }

  let features;
  try {
    features = loadFeatures(args.db);
  } catch (err) {
    if (!(err instanceof FeatureDbError)) throw err;
    console.error(`route_guide server: ${err.message}`);
    process.exit(1);
  }

  const server = createServer().addService(RouteGuide, createRouteGuideService(features));
  // grpc.health.v1 for probes and load balancers: NOT_SERVING as soon as the server starts shutting down.
  addHealthService(server).setStatus(RouteGuide.typeName, "SERVING");
  let port: number;
  try {
    port = await server.bind(hostPort(args.host, args.port));
  } catch (err) {
    console.error(`route_guide server: cannot listen on ${hostPort(args.host, args.port)}: ${(err as Error).message}`);
    await server.forceShutdown();
    process.exit(1);
  }
  const named = features.filter((f) => f.name !== "").length;
  console.log(`RouteGuide server listening on ${hostPort(args.host, port)} (${features.length} features, ${named} named, from ${args.db})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.log(`received ${signal} again: stopping now`);
      void server.forceShutdown();
      return;
    }
    stopping = true;
    console.log(`received ${signal}: shutting down (running calls have ${GRACE_MS / 1000} s to finish)`);
    server.shutdown({ graceMs: GRACE_MS }).then(
      () => {
        console.log("RouteGuide server stopped");
        process.exit(0);
      },
      (err: Error) => {
        console.error(`route_guide server: shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(`route_guide server: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
