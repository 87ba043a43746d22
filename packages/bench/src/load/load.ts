// The part of a load generator both implementations share: flags, warm-up, the timed run, counting and
// the one JSON result line. Each implementation only supplies a Driver that makes one call.
import { performance } from "node:perf_hooks";
import { STREAM_COUNT, payloadOf, streamRequestOf } from "../bench-service.js";
import type { Payload, StreamRequest } from "../gen/bench_pb.js";
import { numberFlag, parseFlags, stringFlag } from "../flags.js";

export type Scenario = "unary" | "stream";

export interface LoadOptions {
  target: string;
  scenario: Scenario;
  concurrency: number;
  seconds: number;
  size: number;
  warmupSeconds: number;
  /** The run stops early once this many ops were counted. */
  maxOps: number;
  /** Messages per Stream call. */
  streamCount: number;
}

/** One line of JSON on stdout. For "stream", ops are messages received. */
export interface LoadResult {
  ops: number;
  seconds: number;
  errors: number;
  firstError?: string;
}

export interface Driver {
  /** One unary call; resolves with the response received, rejects on a failed call. */
  unary(request: Payload): Promise<void>;
  /**
   * One Stream call. `onMessage` is called per response; when it returns false the driver must cancel
   * the call and resolve.
   */
  stream(request: StreamRequest, onMessage: () => boolean): Promise<void>;
  close(): void;
}

const FLAGS = ["target", "scenario", "concurrency", "seconds", "size", "warmup", "max-ops", "stream-count"];

export function parseLoadOptions(argv: readonly string[]): LoadOptions {
  const flags = parseFlags(argv, FLAGS);
  const scenario = stringFlag(flags, "scenario");
  if (scenario !== "unary" && scenario !== "stream") throw new Error(`--scenario must be unary or stream, not "${scenario}"`);
  return {
    target: stringFlag(flags, "target"),
    scenario,
    concurrency: numberFlag(flags, "concurrency", 1, { integer: true, min: 1 }),
    seconds: numberFlag(flags, "seconds", 5, { min: 0.1 }),
    size: numberFlag(flags, "size", 100, { integer: true, min: 0 }),
    warmupSeconds: numberFlag(flags, "warmup", 1, { min: 0 }),
    maxOps: numberFlag(flags, "max-ops", 50_000_000, { integer: true, min: 1 }),
    streamCount: numberFlag(flags, "stream-count", STREAM_COUNT, { integer: true, min: 1 }),
  };
}

const enum Phase {
  WarmingUp,
  Measuring,
  Stopped,
}

/** Errors while running (not counting cancellations at the stop) after which the run gives up. */
const MAX_ERRORS = 10;
/** How long in-flight calls get to finish after the stop before the result is printed anyway. */
const DRAIN_MS = 5000;

export async function runLoad(options: LoadOptions, driver: Driver): Promise<LoadResult> {
  let phase = Phase.WarmingUp;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  let startedAt = 0;
  let stoppedAt = 0;

  const stop = (): void => {
    if (phase === Phase.Stopped) return;
    if (phase === Phase.WarmingUp) startedAt = performance.now();
    phase = Phase.Stopped;
    stoppedAt = performance.now();
    clearTimeout(startTimer);
    clearTimeout(stopTimer);
  };
  const startTimer = setTimeout(() => {
    phase = Phase.Measuring;
    ops = 0;
    startedAt = performance.now();
  }, options.warmupSeconds * 1000);
  const stopTimer = setTimeout(stop, (options.warmupSeconds + options.seconds) * 1000);

  /** Counts one op; false once the run is over. */
  const count = (): boolean => {
    if (phase === Phase.Measuring && ++ops >= options.maxOps) stop();
    return phase !== Phase.Stopped;
  };
  const failed = async (err: unknown): Promise<void> => {
    if (phase === Phase.Stopped) return; // e.g. the cancellation of a stream cut short at the stop
    errors++;
    firstError ??= err instanceof Error ? err.message : String(err);
    if (errors >= MAX_ERRORS) stop();
    else await new Promise((resolve) => setTimeout(resolve, 10)); // no hot loop against a dead server
  };

  const unaryLoop = async (): Promise<void> => {
    const request = payloadOf(options.size);
    while (phase !== Phase.Stopped) {
      try {
        await driver.unary(request);
        count();
      } catch (err) {
        await failed(err);
      }
    }
  };
  const streamLoop = async (): Promise<void> => {
    const request = streamRequestOf(options.streamCount, options.size);
    while (phase !== Phase.Stopped) {
      try {
        await driver.stream(request, count);
      } catch (err) {
        await failed(err);
      }
    }
  };

  const loop = options.scenario === "unary" ? unaryLoop : streamLoop;
  const loops = Promise.all(Array.from({ length: options.concurrency }, loop));
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([loops, new Promise((resolve) => (drainTimer = setTimeout(resolve, (options.warmupSeconds + options.seconds) * 1000 + DRAIN_MS)))]);
  clearTimeout(drainTimer);
  stop();
  const result: LoadResult = { ops, seconds: (stoppedAt - startedAt) / 1000, errors };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}

/** The whole life of a load process: parse flags, run, print the result line, exit. */
export async function loadMain(makeDriver: (target: string) => Driver): Promise<never> {
  let options: LoadOptions;
  try {
    options = parseLoadOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const driver = makeDriver(options.target);
  const result = await runLoad(options, driver);
  try {
    driver.close();
  } catch {
    // closing is best effort; the process exits next
  }
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.errors > 0 && result.ops === 0 ? 1 : 0));
  // process.exit in the write callback: leftover handles (a closing session) must not keep us alive.
  return new Promise<never>(() => {});
}
