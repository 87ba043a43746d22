// The RouteGuide client, from the command line: runs the tutorial's four demos against a server.
//   npm run route_guide:client -- [--target=localhost:50051] [--db=route_guide_db.json] [--seed=N] [--max-delay-ms=N]
// Exits 0 when every call succeeded, 1 with the failing call and its status otherwise.
import { parseArgs } from "node:util";
import { codeName, createChannel, createClient } from "tsgrpc";
import { DEFAULT_DB_PATH, FeatureDbError, loadFeatures } from "./db.js";
import { DemoFailure, runDemos, seededRandom } from "./demos.js";
import { RouteGuide } from "./gen/route_guide_pb.js";

const USAGE = `usage: route_guide client [--target=HOST:PORT] [--db=FILE] [--seed=N] [--max-delay-ms=N] [--timeout-ms=N]
  --target=HOST:PORT  server to call (default localhost:50051)
  --db=FILE           feature database the route's points are picked from (default: the shipped one)
  --seed=N            seed for the random route, to repeat a run (default: random)
  --max-delay-ms=N    longest pause between route points (default 300)
  --timeout-ms=N      deadline of each call (default 10000)`;

class UsageError extends Error {}

function integer(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`--${name} must be a non-negative integer, got "${text}"`);
  return Number(text);
}

function parseCommandLine(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string", default: "localhost:50051" },
      db: { type: "string", default: DEFAULT_DB_PATH },
      seed: { type: "string" },
      "max-delay-ms": { type: "string", default: "300" },
      "timeout-ms": { type: "string", default: "10000" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.target === "") throw new UsageError("--target must not be empty");
  return {
    target: values.target,
    db: values.db,
    seed: values.seed === undefined ? undefined : integer("seed", values.seed, 2 ** 32 - 1),
    maxDelayMs: integer("max-delay-ms", values["max-delay-ms"], 60_000),
    timeoutMs: integer("timeout-ms", values["timeout-ms"]),
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCommandLine>;
  try {
    args = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    console.error(`route_guide client: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  let database;
  try {
    database = loadFeatures(args.db);
  } catch (err) {
    if (!(err instanceof FeatureDbError)) throw err;
    console.error(`route_guide client: ${err.message}`);
    return 1;
  }

  const seed = args.seed ?? Math.floor(Math.random() * 2 ** 32);
  const channel = createChannel(args.target);
  const client = createClient(RouteGuide, channel, { timeoutMs: args.timeoutMs });
  console.log(`RouteGuide client calling ${args.target} (route seed ${seed})`);
  try {
    await runDemos(client, database, (line) => console.log(line), {
      random: seededRandom(seed),
      maxDelayMs: args.maxDelayMs,
    });
    console.log("All four calls succeeded.");
    return 0;
  } catch (err) {
    if (!(err instanceof DemoFailure)) throw err;
    console.error(`route_guide client: ${err.call} to ${args.target} failed: ${codeName(err.error.code)}: ${err.error.details}`);
    return 1;
  } finally {
    channel.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`route_guide client: ${(err as Error)?.stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
