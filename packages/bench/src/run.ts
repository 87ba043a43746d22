// The benchmark orchestrator (`npm run bench`): runs tsgrpc and @grpc/grpc-js side by side in one run and
// prints tsgrpc/grpc-js ratios. Every measurement is one fresh server process plus one load process (or
// h2load); see README.md for the rows and how to read them.
//
// Flags: --seconds=5 --repeats=3 --warmup=1 --size=100 --only=<substring[,substring...]>
//        --no-pin (do not use taskset) --no-h2load (skip h2load rows) --list (print the rows and exit)
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { toBinary } from "@bufbuild/protobuf";
import { STREAM_COUNT, STREAM_PATH, UNARY_PATH, grpcFrame, payloadOf, streamRequestOf } from "./bench-service.js";
import { PACKAGE_DIR, choosePinning, commandWorks, killChildren, nodeScript, pinned, stderrTail, track } from "./children.js";
import { numberFlag, parseFlags, stringFlag } from "./flags.js";
import { PayloadSchema, StreamRequestSchema } from "./gen/bench_pb.js";
import type { LoadResult } from "./load/load.js";

// This file runs compiled, as dist/src/run.js (`npm run bench` builds the workspace first).
const RESULTS_FILE = join(PACKAGE_DIR, "results", "latest.json");

// ---- what is measured -----------------------------------------------------------------------------------

type Impl = "tsgrpc" | "grpc-js";
type LoadPeer = Impl | "h2load";

interface Scenario {
  id: string;
  label: string;
  kind: "unary" | "stream";
  /** Concurrent call loops of the Node load generators; for h2load, concurrent streams on its one connection (-m). */
  concurrency: number;
  unit: string;
}

const SCENARIOS: readonly Scenario[] = [
  { id: "unary-c1", label: "unary c=1", kind: "unary", concurrency: 1, unit: "calls/s" },
  { id: "unary-c100", label: "unary c=100", kind: "unary", concurrency: 100, unit: "calls/s" },
  { id: "stream-c4", label: "stream c=4", kind: "stream", concurrency: 4, unit: "msgs/s" },
];

/** One configuration: a load generator against a server, in one scenario. */
interface Measurement {
  scenario: Scenario;
  load: LoadPeer;
  server: Impl;
}

const keyOf = (m: Measurement): string => `${m.scenario.id}|${m.load}|${m.server}`;

/** A table row compares two measurements: the tsgrpc side (A) and the grpc-js side (B). */
interface Row {
  name: string;
  side: "server" | "client";
  peer: string;
  scenario: Scenario;
  tsgrpc: Measurement;
  grpcJs: Measurement;
}

function allRows(withH2load: boolean): Row[] {
  const rows: Row[] = [];
  const m = (scenario: Scenario, load: LoadPeer, server: Impl): Measurement => ({ scenario, load, server });
  // Server side: the same load peer against each server.
  const serverPeers: LoadPeer[] = withH2load ? ["tsgrpc", "grpc-js", "h2load"] : ["tsgrpc", "grpc-js"];
  for (const peer of serverPeers) {
    for (const s of SCENARIOS) {
      const peerName = peer === "h2load" ? "h2load" : `${peer}-load`;
      rows.push({ name: `server/${peerName}/${s.id}`, side: "server", peer: peerName, scenario: s, tsgrpc: m(s, peer, "tsgrpc"), grpcJs: m(s, peer, "grpc-js") });
    }
  }
  // Client side: each load generator against the same server peer.
  for (const peer of ["grpc-js", "tsgrpc"] as const) {
    for (const s of SCENARIOS) {
      rows.push({ name: `client/${peer}-server/${s.id}`, side: "client", peer: `${peer}-server`, scenario: s, tsgrpc: m(s, "tsgrpc", peer), grpcJs: m(s, "grpc-js", peer) });
    }
  }
  return rows;
}

/**
 * The order of one repeat: scenario by scenario, the implementations alternating; odd repeats run in
 * reverse so that within every pair each side goes first equally often (spreads drift and noise).
 */
function scheduleOf(rows: readonly Row[], repeat: number): Measurement[] {
  const needed = new Map<string, Measurement>();
  for (const row of rows) for (const m of [row.tsgrpc, row.grpcJs]) needed.set(keyOf(m), m);
  const order: [LoadPeer, Impl][] = [
    ["tsgrpc", "tsgrpc"],
    ["tsgrpc", "grpc-js"],
    ["grpc-js", "grpc-js"],
    ["grpc-js", "tsgrpc"],
    ["h2load", "tsgrpc"],
    ["h2load", "grpc-js"],
  ];
  const schedule: Measurement[] = [];
  for (const scenario of SCENARIOS) {
    for (const [load, server] of order) {
      const m = needed.get(keyOf({ scenario, load, server }));
      if (m) schedule.push(m);
    }
  }
  return repeat % 2 === 1 ? schedule.reverse() : schedule;
}

// ---- settings -------------------------------------------------------------------------------------------

interface Settings {
  seconds: number;
  repeats: number;
  warmup: number;
  size: number;
  only: string[];
  pin: boolean;
  h2load: boolean;
  list: boolean;
}

function parseSettings(): Settings {
  const flags = parseFlags(process.argv.slice(2), ["seconds", "repeats", "warmup", "size", "only", "no-pin", "no-h2load", "list", "help"]);
  if (flags.has("help")) {
    process.stdout.write(
      "usage: npm run bench -- [--seconds=5] [--repeats=3] [--warmup=1] [--size=100] [--only=substr[,substr]] [--no-pin] [--no-h2load] [--list]\n",
    );
    process.exit(0);
  }
  return {
    seconds: numberFlag(flags, "seconds", 5, { min: 0.5 }),
    repeats: numberFlag(flags, "repeats", 3, { integer: true, min: 1 }),
    warmup: numberFlag(flags, "warmup", 1, { min: 0 }),
    size: numberFlag(flags, "size", 100, { integer: true, min: 0 }),
    only: stringFlag(flags, "only", "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
    pin: !flags.has("no-pin"),
    h2load: !flags.has("no-h2load"),
    list: flags.has("list"),
  };
}

// ---- child processes (see children.ts) -------------------------------------------------------------------

// Every child is killed on exit, on errors and on SIGINT/SIGTERM.
let tempDir: string | undefined;
function cleanup(): void {
  killChildren();
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping every benchmark process\n`);
    cleanup();
    process.exit(130);
  });
}

interface RunningServer {
  port: number;
  stop(): Promise<void>;
}

async function startServer(impl: Impl, cpu: number | undefined): Promise<RunningServer> {
  const [command, args] = pinned(cpu, ...nodeScript(`src/servers/${impl}-server`));
  const child = track(spawn(command, args, { cwd: PACKAGE_DIR, stdio: ["pipe", "pipe", "pipe"] }));
  const errors = stderrTail(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${impl} server printed no PORT line within 30 s`)), 30_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /^PORT (\d+)$/.exec(line.trim());
      if (match) resolve(Number(match[1]));
      else reject(new Error(`${impl} server's first line is not "PORT <n>": ${line}`));
    });
    child.once("error", (err) => reject(err));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${impl} server exited (${signal ?? code}) before printing its port: ${errors()}`));
    });
  });
  return {
    port,
    async stop() {
      child.stdin?.end(); // the server exits when its stdin closes
      const killTimer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(killTimer);
    },
  };
}

/** Runs a child to completion (killed after `timeoutMs`); resolves with its stdout. */
function runToEnd(command: string, args: string[], timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { cwd: PACKAGE_DIR, stdio: ["ignore", "pipe", "pipe"] }));
    const errors = stderrTail(child);
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => (out += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} exited with ${signal ?? code}: ${errors() || out.trim()}`));
    });
  });
}

// ---- one measurement ------------------------------------------------------------------------------------

interface Sample {
  key: string;
  repeat: number;
  /** ops per second, or null when the measurement failed. */
  rate: number | null;
  ops?: number;
  seconds?: number;
  error?: string;
}

interface Environment {
  settings: Settings;
  serverCpu: number | undefined;
  loadCpu: number | undefined;
  h2loadFiles: Map<string, string>;
}

async function measure(env: Environment, m: Measurement): Promise<{ rate: number; ops: number; seconds: number; warning?: string }> {
  const server = await startServer(m.server, env.serverCpu);
  try {
    const { seconds, warmup, size } = env.settings;
    const timeoutMs = (warmup + seconds) * 1000 + 30_000;
    if (m.load === "h2load") return await measureH2load(env, m, server.port, timeoutMs);
    const [command, args] = pinned(
      env.loadCpu,
      ...nodeScript(`src/load/${m.load}-load`, [
        `--target=127.0.0.1:${server.port}`,
        `--scenario=${m.scenario.kind}`,
        `--concurrency=${m.scenario.concurrency}`,
        `--seconds=${seconds}`,
        `--warmup=${warmup}`,
        `--size=${size}`,
        `--stream-count=${STREAM_COUNT}`,
      ]),
    );
    const out = await runToEnd(command, args, timeoutMs, `${m.load} load`);
    const last = out.trim().split("\n").pop() ?? "";
    let result: LoadResult;
    try {
      result = JSON.parse(last) as LoadResult;
    } catch {
      throw new Error(`${m.load} load printed no JSON result: ${out.trim().slice(-500)}`);
    }
    if (!(result.seconds > 0) || !(result.ops > 0)) throw new Error(`no ops counted (${last})`);
    const warning = result.errors > 0 ? `${result.errors} failed calls, first: ${result.firstError}` : undefined;
    return { rate: result.ops / result.seconds, ops: result.ops, seconds: result.seconds, warning };
  } finally {
    await server.stop();
  }
}

async function measureH2load(env: Environment, m: Measurement, port: number, timeoutMs: number): Promise<{ rate: number; ops: number; seconds: number; warning?: string }> {
  const { seconds, warmup } = env.settings;
  const path = m.scenario.kind === "unary" ? UNARY_PATH : STREAM_PATH;
  const [command, args] = pinned(env.loadCpu, "h2load", [
    `--duration=${seconds}`,
    `--warm-up-time=${Math.max(warmup, 0.1)}`,
    "--clients=1",
    `--max-concurrent-streams=${m.scenario.concurrency}`,
    `--data=${env.h2loadFiles.get(m.scenario.kind)!}`,
    "--header=content-type: application/grpc",
    "--header=te: trailers",
    `http://127.0.0.1:${port}${path}`,
  ]);
  const out = await runToEnd(command, args, timeoutMs, "h2load");
  // "finished in 5.00s, 12345.60 req/s, 1.23MB/s"
  // (its time includes the warm-up; its req/s and counts cover the measured --duration only)
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  // "requests: 61728 total, 61828 started, 61728 done, 61728 succeeded, 0 failed, 0 errored, 0 timeout"
  const requests = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  if (!finished || !requests) throw new Error(`could not read h2load's output: ${out.trim().slice(-800)}`);
  const perStream = m.scenario.kind === "stream" ? STREAM_COUNT : 1;
  const succeeded = Number(requests[3]);
  const bad = Number(requests[4]) + Number(requests[5]);
  if (succeeded === 0) throw new Error(`h2load: no request succeeded: ${out.trim().slice(-800)}`);
  return {
    rate: Number(finished[1]) * perStream,
    ops: succeeded * perStream,
    seconds,
    warning: bad > 0 ? `h2load: ${bad} requests failed or errored` : undefined,
  };
}

// ---- statistics and output ------------------------------------------------------------------------------

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const formatRate = (rate: number | null): string => (rate === null ? "n/a" : Math.round(rate).toLocaleString("en-US"));
const formatRatio = (ratio: number | null): string => (ratio === null ? "n/a" : ratio.toFixed(2));

function table(header: string[], body: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

// ---- main -----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = parseSettings();
  const grpcJsVersion = (createRequire(import.meta.url)("@grpc/grpc-js/package.json") as { version: string }).version;

  const h2loadAvailable = commandWorks("h2load", ["--version"]);
  const useH2load = settings.h2load && h2loadAvailable;
  let rows = allRows(useH2load);
  if (settings.only.length > 0) rows = rows.filter((row) => settings.only.some((part) => row.name.includes(part)));

  if (settings.list) {
    for (const row of allRows(true)) process.stdout.write(`${row.name}\n`);
    return;
  }
  if (rows.length === 0) throw new Error(`--only=${settings.only.join(",")} matches no row (see --list)`);

  const cpuCount = availableParallelism();
  const pinning = choosePinning(settings.pin);
  const canPin = pinning.serverCpu !== undefined;
  const env: Environment = {
    settings,
    serverCpu: pinning.serverCpu,
    loadCpu: pinning.loadCpu,
    h2loadFiles: new Map(),
  };

  process.stdout.write(`tsgrpc vs @grpc/grpc-js ${grpcJsVersion} — node ${process.version}, ${cpuCount} CPUs (${cpus()[0]?.model ?? "unknown"})\n`);
  process.stdout.write(`${pinning.description}\n`);
  if (!settings.h2load) process.stdout.write("h2load rows: off (--no-h2load)\n");
  else if (!h2loadAvailable) process.stdout.write("h2load not installed: skipping h2load rows (apt-get install nghttp2-client)\n");

  if (rows.some((row) => row.tsgrpc.load === "h2load")) {
    tempDir = mkdtempSync(join(tmpdir(), "tsgrpc-bench-"));
    const unaryFile = join(tempDir, "unary.bin");
    const streamFile = join(tempDir, "stream.bin");
    writeFileSync(unaryFile, grpcFrame(toBinary(PayloadSchema, payloadOf(settings.size))));
    writeFileSync(streamFile, grpcFrame(toBinary(StreamRequestSchema, streamRequestOf(STREAM_COUNT, settings.size))));
    env.h2loadFiles.set("unary", unaryFile);
    env.h2loadFiles.set("stream", streamFile);
  }

  const schedules = Array.from({ length: settings.repeats }, (_, r) => scheduleOf(rows, r));
  const total = schedules.reduce((n, s) => n + s.length, 0);
  // ~2 s per measurement go to starting the two processes and stopping them.
  const estimate = Math.ceil((total * (settings.warmup + settings.seconds + 2)) / 60);
  process.stdout.write(
    `${rows.length} rows, ${total} measurements (${settings.repeats} repeats × ${settings.seconds} s + ${settings.warmup} s warm-up, payload ${settings.size} B); about ${estimate} min\n\n`,
  );

  const samples: Sample[] = [];
  const warnings: string[] = [];
  let done = 0;
  const startedAt = Date.now();
  for (const [repeat, schedule] of schedules.entries()) {
    for (const m of schedule) {
      done++;
      const label = `[${String(done).padStart(String(total).length)}/${total}] repeat ${repeat + 1}  ${m.scenario.label.padEnd(11)}  load=${m.load.padEnd(7)} server=${m.server.padEnd(7)}`;
      try {
        const result = await measure(env, m);
        samples.push({ key: keyOf(m), repeat, rate: result.rate, ops: result.ops, seconds: result.seconds });
        process.stdout.write(`${label}  ${formatRate(result.rate).padStart(10)} ${m.scenario.unit}\n`);
        if (result.warning) {
          warnings.push(`${label.trim()}: ${result.warning}`);
          process.stdout.write(`    warning: ${result.warning}\n`);
        }
      } catch (err) {
        const message = (err as Error).message;
        samples.push({ key: keyOf(m), repeat, rate: null, error: message });
        warnings.push(`${label.trim()}: FAILED: ${message}`);
        process.stdout.write(`${label}  FAILED: ${message}\n`);
      }
    }
  }

  const ratesOf = (m: Measurement): number[] =>
    samples.filter((s) => s.key === keyOf(m) && s.rate !== null).map((s) => s.rate!);
  /**
   * A row's ratio is the median of its per-repeat ratios: the two sides of a row are measured in the same
   * repeat, a few seconds apart, so each pair shares the machine's state (this VM's speed drifts by tens
   * of percent over minutes, which a ratio of overall medians would mix in).
   */
  const pairedRatios = (row: Row): number[] => {
    const ratios: number[] = [];
    for (let repeat = 0; repeat < settings.repeats; repeat++) {
      const rateIn = (m: Measurement): number | null | undefined => samples.find((s) => s.key === keyOf(m) && s.repeat === repeat)?.rate;
      const tsgrpc = rateIn(row.tsgrpc);
      const grpcJs = rateIn(row.grpcJs);
      if (tsgrpc && grpcJs) ratios.push(tsgrpc / grpcJs);
    }
    return ratios;
  };
  const results = rows.map((row) => {
    const ratios = pairedRatios(row);
    return { row, tsgrpc: median(ratesOf(row.tsgrpc)), grpcJs: median(ratesOf(row.grpcJs)), ratio: median(ratios), ratios };
  });

  process.stdout.write(
    `\nmedians of ${settings.repeats} (unit: calls/s for unary, messages/s for stream; ratio = tsgrpc / grpc-js, the median of the per-repeat ratios, > 1 means tsgrpc is faster; range = lowest and highest per-repeat ratio)\n\n`,
  );
  process.stdout.write(
    `${table(
      ["row", "unit", "tsgrpc", "grpc-js", "ratio", "range"],
      results.map((r) => [
        r.row.name,
        r.row.scenario.unit,
        formatRate(r.tsgrpc),
        formatRate(r.grpcJs),
        formatRatio(r.ratio),
        r.ratios.length > 0 ? `${formatRatio(Math.min(...r.ratios))}–${formatRatio(Math.max(...r.ratios))}` : "n/a",
      ]),
      [false, false, true, true, true, true],
    )}\n\n`,
  );
  const rated = results.filter((r) => r.ratio !== null) as (typeof results[number] & { ratio: number })[];
  if (rated.length > 0) {
    const min = rated.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    const geomean = Math.exp(rated.reduce((sum, r) => sum + Math.log(r.ratio), 0) / rated.length);
    const faster = rated.filter((r) => r.ratio > 1).length;
    process.stdout.write(
      `min ratio ${formatRatio(min.ratio)} (${min.row.name}); geometric mean ${formatRatio(geomean)}; tsgrpc faster in ${faster} of ${rated.length} rows\n`,
    );
  } else {
    process.stdout.write("no ratio could be computed (every measurement failed?)\n");
  }
  if (warnings.length > 0) process.stdout.write(`\n${warnings.length} warning(s):\n${warnings.map((w) => `  ${w}`).join("\n")}\n`);

  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    node: process.version,
    grpcJs: grpcJsVersion,
    cpus: cpuCount,
    cpuModel: cpus()[0]?.model,
    pinned: canPin,
    h2load: useH2load,
    settings: { seconds: settings.seconds, repeats: settings.repeats, warmup: settings.warmup, size: settings.size, only: settings.only, streamCount: STREAM_COUNT },
    rows: results.map((r) => ({
      name: r.row.name,
      side: r.row.side,
      peer: r.row.peer,
      scenario: r.row.scenario.id,
      unit: r.row.scenario.unit,
      tsgrpc: r.tsgrpc,
      grpcJs: r.grpcJs,
      ratio: r.ratio,
      pairedRatios: r.ratios,
      samples: { tsgrpc: ratesOf(r.row.tsgrpc), grpcJs: ratesOf(r.row.grpcJs) },
    })),
    measurements: samples,
    warnings,
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\ntook ${Math.round((Date.now() - startedAt) / 1000)} s; wrote ${relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}\n`);
}

// `npm run bench -- --list | head` closes our stdout early: that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

try {
  await main();
} catch (err) {
  // Flag mistakes and the like need no stack trace.
  const usage = err instanceof Error && /^(unknown flag|unexpected argument|--)/.test(err.message);
  process.stderr.write(`bench failed: ${usage ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
  process.exitCode = 1;
} finally {
  cleanup();
}
