// The soak benchmark (`npm run soak`): for each server implementation (tsgrpc and @grpc/grpc-js, one
// after the other in the same run), a fresh server process gets idle connections and then a bounded
// stream of calls of every kind, cancellations and deadlines included, from one tsgrpc load process
// (the same for both servers), while its memory and file descriptors are sampled. Prints the two side by
// side and writes results/soak-latest.json. See README.md, "Soak", for what runs and how to read it.
//
// Flags: --scale=1 --unary=N --server-stream=N --client-stream=N --bidi=N --cancel=N --deadline=N
//        --rounds=4 --warmup=0.05 --connections=200 --concurrency=32 --messages=10 --size=100
//        --deadline-ms=20 --cancels-per-connection=500 --time-limit=15 (minutes) --servers=tsgrpc,grpc-js --no-pin
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { PACKAGE_DIR, choosePinning, killChildren, nodeScript, pinned, stderrTail, track } from "./children.js";
import { numberFlag, parseFlags, stringFlag } from "./flags.js";
import {
  SOAK_KINDS,
  type FailedReply,
  type IdleCloseResult,
  type IdleOpenResult,
  type PhaseResult,
  type SoakCommand,
  type SoakKind,
} from "./load/soak-protocol.js";
import type { ServerStats } from "./servers/stats.js";

const RESULTS_FILE = join(PACKAGE_DIR, "results", "soak-latest.json");

type Impl = "tsgrpc" | "grpc-js";
const IMPLS: readonly Impl[] = ["tsgrpc", "grpc-js"];

/** Calls per kind at --scale=1, all rounds together (the warm-up comes on top). */
const DEFAULT_CALLS: Readonly<Record<SoakKind, number>> = {
  unary: 200_000,
  "server-stream": 50_000,
  "client-stream": 50_000,
  bidi: 50_000,
  cancel: 20_000,
  deadline: 10_000,
};

/** Unary calls on the load's main connection before the idle-connection measurement (see README). */
const PRIMER_CALLS = 500;
/** Pause before a sample, so that calls that just ended are cleaned up (timers, closing streams). */
const SETTLE_MS = 300;
/** Pause before the fresh, idle and end samples. */
const LONG_SETTLE_MS = 1000;
const STATS_TIMEOUT_MS = 30_000;
/** Time a load command may take beyond the time limit before its process is declared hung. */
const COMMAND_GRACE_MS = 60_000;

// ---- settings -------------------------------------------------------------------------------------------

interface Settings {
  /** Calls per kind over all rounds, after --scale. */
  calls: Record<SoakKind, number>;
  scale: number;
  rounds: number;
  /** Warm-up calls per kind, as a fraction of that kind's calls. */
  warmup: number;
  connections: number;
  concurrency: number;
  messages: number;
  size: number;
  deadlineMs: number;
  /** Cancel and deadline calls per connection (see load/soak-load.ts); 0: all on the main connection. */
  cancelsPerConnection: number;
  timeLimitMinutes: number;
  servers: Impl[];
  pin: boolean;
}

const USAGE = `usage: npm run soak -- [--scale=1] [--unary=${DEFAULT_CALLS.unary}] [--server-stream=${DEFAULT_CALLS["server-stream"]}]
         [--client-stream=${DEFAULT_CALLS["client-stream"]}] [--bidi=${DEFAULT_CALLS.bidi}] [--cancel=${DEFAULT_CALLS.cancel}] [--deadline=${DEFAULT_CALLS.deadline}]
         [--rounds=4] [--warmup=0.05] [--connections=200] [--concurrency=32] [--messages=10] [--size=100]
         [--deadline-ms=20] [--cancels-per-connection=500] [--time-limit=15] [--servers=tsgrpc,grpc-js] [--no-pin]
(call counts are for all rounds together and are multiplied by --scale; --time-limit is in minutes)
`;

function parseSettings(): Settings {
  const flags = parseFlags(process.argv.slice(2), [
    "scale",
    ...SOAK_KINDS,
    "rounds",
    "warmup",
    "connections",
    "concurrency",
    "messages",
    "size",
    "deadline-ms",
    "cancels-per-connection",
    "time-limit",
    "servers",
    "no-pin",
    "help",
  ]);
  if (flags.has("help")) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const scale = numberFlag(flags, "scale", 1, { min: 0 });
  const calls = {} as Record<SoakKind, number>;
  for (const kind of SOAK_KINDS) calls[kind] = Math.round(numberFlag(flags, kind, DEFAULT_CALLS[kind], { integer: true, min: 0 }) * scale);
  const servers = stringFlag(flags, "servers", IMPLS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const server of servers) {
    if (!IMPLS.includes(server as Impl)) throw new Error(`--servers: unknown server "${server}" (known: ${IMPLS.join(", ")})`);
  }
  if (servers.length === 0) throw new Error("--servers: name at least one server");
  return {
    calls,
    scale,
    rounds: numberFlag(flags, "rounds", 4, { integer: true, min: 1 }),
    warmup: numberFlag(flags, "warmup", 0.05, { min: 0 }),
    connections: numberFlag(flags, "connections", 200, { integer: true, min: 0 }),
    concurrency: numberFlag(flags, "concurrency", 32, { integer: true, min: 1 }),
    messages: numberFlag(flags, "messages", 10, { integer: true, min: 1 }),
    size: numberFlag(flags, "size", 100, { integer: true, min: 0 }),
    deadlineMs: numberFlag(flags, "deadline-ms", 20, { integer: true, min: 1 }),
    cancelsPerConnection: numberFlag(flags, "cancels-per-connection", 500, { integer: true, min: 0 }),
    timeLimitMinutes: numberFlag(flags, "time-limit", 15, { min: 0.1 }),
    servers: IMPLS.filter((impl) => servers.includes(impl)),
    pin: !flags.has("no-pin"),
  };
}

// ---- child processes ------------------------------------------------------------------------------------

/** The stdout of a child, line by line, for a request/answer conversation (one question at a time). */
class LineReader {
  private readonly buffered: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private closedWith: Error | undefined;

  constructor(child: ChildProcess, what: string, errors: () => string) {
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on("line", (line) => {
      if (this.waiter) {
        const { resolve } = this.waiter;
        this.waiter = undefined;
        resolve(line);
      } else {
        this.buffered.push(line);
      }
    });
    const fail = (err: Error): void => {
      this.closedWith ??= err;
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.reject(this.closedWith);
    };
    child.once("error", (err) => fail(err));
    child.once("exit", (code, signal) => fail(new Error(`${what} exited (${signal ?? code})${errors() ? `: ${errors()}` : ""}`)));
  }

  next(timeoutMs: number, what: string): Promise<string> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiter = {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }
}

/** A child that exits when its stdin closes; stop() closes it, then SIGKILLs after 3 s. */
function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return async () => {
    child.stdin?.end();
    const killTimer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(killTimer);
  };
}

interface ServerProcess {
  port: number;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

async function startServer(impl: Impl, cpu: number | undefined): Promise<ServerProcess> {
  // --expose-gc: the server forces a full GC before it measures its heap (servers/stats.ts).
  const [command, args] = pinned(cpu, ...nodeScript(`src/servers/${impl}-server`, [], ["--expose-gc"]));
  const child = track(spawn(command, args, { cwd: PACKAGE_DIR, stdio: ["pipe", "pipe", "pipe"] }));
  const errors = stderrTail(child);
  const lines = new LineReader(child, `${impl} server`, errors);
  const stop = stopper(child);
  try {
    const first = await lines.next(30_000, `${impl} server start`);
    const match = /^PORT (\d+)$/.exec(first.trim());
    if (!match) throw new Error(`${impl} server's first line is not "PORT <n>": ${first}`);
    return {
      port: Number(match[1]),
      async stats() {
        child.stdin!.write("stats\n");
        const line = await lines.next(STATS_TIMEOUT_MS, `${impl} server stats`);
        if (!line.startsWith("STATS ")) throw new Error(`${impl} server answered "stats" with: ${line}`);
        return JSON.parse(line.slice("STATS ".length)) as ServerStats;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

type ReplyOf<C extends SoakCommand> = C extends { op: "run" } ? PhaseResult : C extends { op: "idle-open" } ? IdleOpenResult : IdleCloseResult;

interface LoadProcess {
  /** Sends one command and waits for its reply. */
  send<C extends SoakCommand>(command: C, timeoutMs: number): Promise<ReplyOf<C>>;
  stop(): Promise<void>;
}

function startLoad(port: number, cpu: number | undefined, settings: Settings): LoadProcess {
  const [command, args] = pinned(
    cpu,
    ...nodeScript("src/load/soak-load", [
      `--target=127.0.0.1:${port}`,
      `--size=${settings.size}`,
      `--messages=${settings.messages}`,
      `--deadline-ms=${settings.deadlineMs}`,
      `--cancels-per-connection=${settings.cancelsPerConnection}`,
    ]),
  );
  const child = track(spawn(command, args, { cwd: PACKAGE_DIR, stdio: ["pipe", "pipe", "pipe"] }));
  const errors = stderrTail(child);
  const lines = new LineReader(child, "soak load", errors);
  return {
    async send<C extends SoakCommand>(cmd: C, timeoutMs: number): Promise<ReplyOf<C>> {
      child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      const line = await lines.next(timeoutMs, `soak load (${cmd.op})`);
      let reply: unknown;
      try {
        reply = JSON.parse(line);
      } catch {
        throw new Error(`soak load printed something that is not JSON: ${line.slice(0, 500)}`);
      }
      if (typeof (reply as FailedReply).failed === "string") throw new Error(`soak load could not ${cmd.op}: ${(reply as FailedReply).failed}`);
      return reply as ReplyOf<C>;
    },
    stop: stopper(child),
  };
}

// ---- samples --------------------------------------------------------------------------------------------

interface Sample {
  label: string;
  /** Seconds since the server started. */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  activeResources: number;
  openHandlers: number;
  handlersStarted: number;
  /** Open file descriptors (/proc/<pid>/fd); null where /proc is not available. */
  fds: number | null;
  /** Peak RSS of the server so far (VmHWM in /proc/<pid>/status); null where not available. */
  peakRss: number | null;
}

function countFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function peakRss(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- one server's soak ----------------------------------------------------------------------------------

interface KindTotals {
  calls: number;
  ok: number;
  errors: number;
  seconds: number;
  errorSamples: { message: string; count: number }[];
}

interface ServerReport {
  server: Impl;
  /** Set when the soak of this server failed; whatever was measured before is still here. */
  error?: string;
  /** Set when the time limit cut the soak short. */
  truncated?: string;
  seconds: number;
  /** Whether the server could force a GC before measuring (it always should: it runs with --expose-gc). */
  gc?: boolean;
  fresh?: Sample;
  idle?: {
    requested: number;
    opened: number;
    errors: number;
    firstError?: string;
    before: Sample;
    open: Sample;
    afterClose: Sample;
    rssPerConnection: number;
    heapPerConnection: number;
    fdsPerConnection: number | null;
  };
  warmup?: Sample;
  end?: Sample;
  growth?: { heapUsed: number; rss: number; fds: number | null };
  max?: { heapUsed: number; rss: number; fds: number | null };
  /** Every sample in order: fresh, idle ones, warm-up, one after each phase, end. */
  samples: Sample[];
  phases: (PhaseResult & { round: number })[];
  /** Warm-up and rounds together. */
  kinds: Partial<Record<SoakKind, KindTotals>>;
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const signedMb = (bytes: number): string => `${bytes >= 0 ? "+" : "-"}${(Math.abs(bytes) / 2 ** 20).toFixed(1)} MB`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const int = (n: number): string => Math.round(n).toLocaleString("en-US");

function addTo(totals: KindTotals, result: PhaseResult): void {
  totals.calls += result.calls;
  totals.ok += result.ok;
  totals.errors += result.errors;
  totals.seconds += result.seconds;
  for (const { message, count } of result.errorSamples) {
    const known = totals.errorSamples.find((e) => e.message === message);
    if (known) known.count += count;
    else if (totals.errorSamples.length < 5) totals.errorSamples.push({ message, count });
  }
}

/** Splits `total` into `parts` whole numbers that add up to it. */
function share(total: number, parts: number, index: number): number {
  return Math.floor(((index + 1) * total) / parts) - Math.floor((index * total) / parts);
}

async function soakServer(impl: Impl, settings: Settings, pinning: { serverCpu?: number; loadCpu?: number }, stopAt: number): Promise<ServerReport> {
  const startedAt = Date.now();
  const report: ServerReport = { server: impl, seconds: 0, samples: [], phases: [], kinds: {} };
  const log = (line: string): void => void process.stdout.write(`${impl.padEnd(7)}  ${line}\n`);
  const commandTimeout = (): number => Math.max(0, stopAt - Date.now()) + COMMAND_GRACE_MS;
  let server: ServerProcess | undefined;
  let load: LoadProcess | undefined;

  const sample = async (label: string, settleMs = SETTLE_MS): Promise<Sample> => {
    await sleep(settleMs);
    const stats = await server!.stats();
    report.gc = stats.gc;
    const s: Sample = {
      label,
      at: (Date.now() - startedAt) / 1000,
      rss: stats.rss,
      heapUsed: stats.heapUsed,
      heapTotal: stats.heapTotal,
      external: stats.external,
      arrayBuffers: stats.arrayBuffers,
      activeResources: stats.activeResources,
      openHandlers: stats.openHandlers,
      handlersStarted: stats.handlersStarted,
      fds: countFds(stats.pid),
      peakRss: peakRss(stats.pid),
    };
    report.samples.push(s);
    return s;
  };
  const describe = (s: Sample): string =>
    `heap ${mb(s.heapUsed)}, RSS ${mb(s.rss)}, fds ${s.fds ?? "n/a"}${s.openHandlers > 0 ? `, ${s.openHandlers} handlers open` : ""}`;

  /** One phase, then a sample. Round 0 is the warm-up; the primer (round -1) is left out of the totals. */
  const runPhase = async (kind: SoakKind, calls: number, round: number, label: string): Promise<PhaseResult> => {
    const result = await load!.send({ op: "run", kind, calls, concurrency: settings.concurrency, stopAt }, commandTimeout());
    report.phases.push({ ...result, round });
    const totals = round < 0 ? undefined : (report.kinds[kind] ??= { calls: 0, ok: 0, errors: 0, seconds: 0, errorSamples: [] });
    if (totals) addTo(totals, result);
    const after = await sample(label);
    const rate = result.seconds > 0 ? result.calls / result.seconds : 0;
    log(
      `${label.padEnd(24)} ${int(result.calls).padStart(8)} calls ${int(rate).padStart(6)}/s ${String(result.errors).padStart(4)} errors   ${describe(after)}` +
        `${result.stopped ? `   STOPPED: ${result.stopped}` : ""}${result.errorSamples.length > 0 ? `\n         first error: ${result.errorSamples[0]!.message}` : ""}`,
    );
    if (result.stopped === "time limit") report.truncated = `time limit reached during ${label}`;
    else if (result.stopped) throw new Error(`${label} stopped: ${result.stopped}; errors: ${result.errorSamples.map((e) => `${e.count}× ${e.message}`).join("; ")}`);
    return result;
  };

  try {
    // 1. A fresh server, before any connection.
    server = await startServer(impl, pinning.serverCpu);
    report.fresh = await sample("fresh", LONG_SETTLE_MS);
    log(`fresh server: ${describe(report.fresh)}`);

    // 2. Idle connections: after a primer on the load's main connection (so that the one-time work of the
    //    first calls is not counted), N more connections that make one call each and then stay idle.
    load = startLoad(server.port, pinning.loadCpu, settings);
    await runPhase("unary", PRIMER_CALLS, -1, "primer (unary)");
    if (settings.connections > 0) {
      const before = await sample("before idle connections", LONG_SETTLE_MS);
      const opened = await load.send({ op: "idle-open", connections: settings.connections }, commandTimeout());
      const open = await sample(`${opened.opened} idle connections`, LONG_SETTLE_MS);
      await load.send({ op: "idle-close" }, commandTimeout());
      const afterClose = await sample("idle connections closed", LONG_SETTLE_MS);
      const n = Math.max(opened.opened, 1);
      report.idle = {
        requested: settings.connections,
        opened: opened.opened,
        errors: opened.errors,
        before,
        open,
        afterClose,
        rssPerConnection: (open.rss - before.rss) / n,
        heapPerConnection: (open.heapUsed - before.heapUsed) / n,
        fdsPerConnection: open.fds !== null && before.fds !== null ? (open.fds - before.fds) / n : null,
      };
      if (opened.firstError !== undefined) report.idle.firstError = opened.firstError;
      log(
        `${opened.opened} idle connections${opened.errors > 0 ? ` (${opened.errors} failed: ${opened.firstError})` : ""}: ` +
          `${kb(report.idle.rssPerConnection)} RSS, ${kb(report.idle.heapPerConnection)} heap, ${report.idle.fdsPerConnection?.toFixed(2) ?? "n/a"} fds per connection; ` +
          `after closing them: ${describe(afterClose)}`,
      );
    }

    // 3. Warm-up: a little of every kind.
    for (const kind of SOAK_KINDS) {
      if (settings.calls[kind] === 0 || report.truncated) continue;
      await runPhase(kind, Math.max(1, Math.round(settings.calls[kind] * settings.warmup)), 0, `warm-up ${kind}`);
    }
    report.warmup = report.samples[report.samples.length - 1];
    if (report.warmup) report.warmup = { ...report.warmup, label: "after warm-up" };

    // 4. The rounds: every kind in turn, a sample after each phase.
    for (let round = 1; round <= settings.rounds && !report.truncated; round++) {
      for (const kind of SOAK_KINDS) {
        const calls = share(settings.calls[kind], settings.rounds, round - 1);
        if (calls === 0 || report.truncated) continue;
        await runPhase(kind, calls, round, `round ${round}/${settings.rounds} ${kind}`);
      }
    }

    // 5. The end, after a longer pause.
    report.end = await sample("end", LONG_SETTLE_MS);
    log(`end: ${describe(report.end)}`);
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    log(`FAILED: ${report.error}`);
  } finally {
    await load?.stop();
    await server?.stop();
  }

  if (report.warmup && report.end) {
    const after = report.samples.slice(report.samples.findIndex((s) => s.at >= report.warmup!.at));
    const fds = (s: Sample): number | null => s.fds;
    const maxFds = after.every((s) => fds(s) !== null) ? Math.max(...after.map((s) => s.fds!)) : null;
    report.growth = {
      heapUsed: report.end.heapUsed - report.warmup.heapUsed,
      rss: report.end.rss - report.warmup.rss,
      fds: report.end.fds !== null && report.warmup.fds !== null ? report.end.fds - report.warmup.fds : null,
    };
    report.max = { heapUsed: Math.max(...after.map((s) => s.heapUsed)), rss: Math.max(...after.map((s) => s.rss)), fds: maxFds };
  }
  report.seconds = (Date.now() - startedAt) / 1000;
  return report;
}

// ---- output ---------------------------------------------------------------------------------------------

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("   "), ...body.map(line)].join("\n");
}

function summaryTable(reports: readonly ServerReport[], settings: Settings): string {
  const rows: string[][] = [];
  const row = (name: string, cell: (r: ServerReport) => string | undefined): void => {
    rows.push([name, ...reports.map((r) => cell(r) ?? "n/a")]);
  };
  const fdsText = (n: number | null | undefined): string | undefined => (n === null || n === undefined ? undefined : String(n));
  const signed = (n: number | null | undefined): string | undefined => (n === null || n === undefined ? undefined : `${n >= 0 ? "+" : ""}${n}`);

  row("fresh server: RSS", (r) => r.fresh && mb(r.fresh.rss));
  row("fresh server: heap used", (r) => r.fresh && mb(r.fresh.heapUsed));
  row("fresh server: fds", (r) => fdsText(r.fresh?.fds));
  row(`RSS per idle connection (${settings.connections})`, (r) => r.idle && kb(r.idle.rssPerConnection));
  row("heap per idle connection", (r) => r.idle && kb(r.idle.heapPerConnection));
  row("fds per idle connection", (r) => r.idle?.fdsPerConnection?.toFixed(2));
  row("RSS / heap after closing them", (r) => r.idle && `${mb(r.idle.afterClose.rss)} / ${mb(r.idle.afterClose.heapUsed)}`);
  row("heap used after warm-up", (r) => r.warmup && mb(r.warmup.heapUsed));
  row("heap used at end", (r) => r.end && mb(r.end.heapUsed));
  row("heap growth (end - warm-up)", (r) => r.growth && signedMb(r.growth.heapUsed));
  row("heap max (warm-up..end)", (r) => r.max && mb(r.max.heapUsed));
  row("RSS after warm-up", (r) => r.warmup && mb(r.warmup.rss));
  row("RSS at end", (r) => r.end && mb(r.end.rss));
  row("RSS growth (end - warm-up)", (r) => r.growth && signedMb(r.growth.rss));
  row("RSS max (warm-up..end)", (r) => r.max && mb(r.max.rss));
  row("peak RSS (VmHWM, whole run)", (r) => {
    const peak = r.samples[r.samples.length - 1]?.peakRss;
    return peak === null || peak === undefined ? undefined : mb(peak);
  });
  row("fds after warm-up / at end", (r) => r.warmup && r.end && `${fdsText(r.warmup.fds) ?? "n/a"} / ${fdsText(r.end.fds) ?? "n/a"}`);
  row("fds growth (end - warm-up)", (r) => signed(r.growth?.fds));
  row("fds max (warm-up..end)", (r) => fdsText(r.max?.fds));
  row("handlers still open at end", (r) => r.end && String(r.end.openHandlers));
  /** The last sample of each round. */
  const roundEnds = (r: ServerReport): Sample[] => {
    const perRound = new Map<string, Sample>();
    for (const s of r.samples) if (/^round \d+\/\d+ /.test(s.label)) perRound.set(s.label.split(" ")[1]!, s);
    return [...perRound.values()];
  };
  const byRound = (r: ServerReport, value: (s: Sample) => number): string | undefined => {
    const ends = roundEnds(r);
    return ends.length === 0 ? undefined : ends.map((s) => (value(s) / 2 ** 20).toFixed(1)).join(" ");
  };
  row("heap used after each round (MB)", (r) => byRound(r, (s) => s.heapUsed));
  row("RSS after each round (MB)", (r) => byRound(r, (s) => s.rss));
  for (const kind of SOAK_KINDS) {
    if (settings.calls[kind] === 0) continue;
    row(`${kind}: calls / errors`, (r) => {
      const k = r.kinds[kind];
      return k && `${int(k.calls)} / ${int(k.errors)}`;
    });
  }
  row("time", (r) => `${Math.round(r.seconds)} s${r.truncated ? " (time limit)" : ""}${r.error ? " (FAILED)" : ""}`);
  return table(["", ...reports.map((r) => r.server)], rows);
}

// ---- main -----------------------------------------------------------------------------------------------

function cleanup(): void {
  killChildren();
}

process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping every soak process\n`);
    cleanup();
    process.exit(130);
  });
}

async function main(): Promise<void> {
  const settings = parseSettings();
  const grpcJsVersion = (createRequire(import.meta.url)("@grpc/grpc-js/package.json") as { version: string }).version;
  const pinning = choosePinning(settings.pin);
  const startedAt = Date.now();
  const endAt = startedAt + settings.timeLimitMinutes * 60_000;
  // Past the time limit (plus the grace of the last command and the stops), give up on everything.
  const hardStop = setTimeout(() => {
    process.stderr.write(`soak: still running ${settings.timeLimitMinutes} min + 2 min after the start; killing everything\n`);
    cleanup();
    process.exit(1);
  }, settings.timeLimitMinutes * 60_000 + 120_000);
  hardStop.unref();

  const totalCalls = SOAK_KINDS.reduce((n, k) => n + settings.calls[k], 0);
  process.stdout.write(`soak: tsgrpc vs @grpc/grpc-js ${grpcJsVersion} servers, tsgrpc load — node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"})\n`);
  process.stdout.write(`${pinning.description}\n`);
  const callList = SOAK_KINDS.filter((k) => settings.calls[k] > 0).map((k) => `${int(settings.calls[k])} ${k}`);
  process.stdout.write(
    `per server: ${settings.connections} idle connections, then ` +
      (totalCalls === 0 ? "no calls; " : `${callList.join(", ")} (${int(totalCalls)} calls, + ${settings.warmup * 100}% warm-up) in ${settings.rounds} rounds; `) +
      `concurrency ${settings.concurrency}, ${settings.messages} messages per stream, ${settings.size} B payloads, deadline ${settings.deadlineMs} ms, ` +
      `${settings.cancelsPerConnection > 0 ? `a new connection every ${settings.cancelsPerConnection} cancel/deadline calls` : "cancel/deadline calls on the main connection"}; ` +
      `time limit ${settings.timeLimitMinutes} min\n\n`,
  );

  const reports: ServerReport[] = [];
  for (const [i, impl] of settings.servers.entries()) {
    // Each server gets an equal share of the time that is left.
    const stopAt = Date.now() + (endAt - Date.now()) / (settings.servers.length - i);
    reports.push(await soakServer(impl, settings, pinning, stopAt));
    process.stdout.write("\n");
  }

  process.stdout.write(
    "server process after a forced GC (heap used, RSS) and its open file descriptors; growth = end - after warm-up; calls include the warm-up; cancel/deadline calls count as errors only when they did not end CANCELLED / DEADLINE_EXCEEDED\n\n",
  );
  process.stdout.write(`${summaryTable(reports, settings)}\n`);
  const problems = reports.flatMap((r) => [
    ...(r.error ? [`${r.server}: FAILED: ${r.error}`] : []),
    ...(r.truncated ? [`${r.server}: ${r.truncated}; the rest was skipped`] : []),
    ...Object.entries(r.kinds).flatMap(([kind, k]) => k.errorSamples.map((e) => `${r.server} ${kind}: ${e.count}× ${e.message}`)),
    ...(r.gc === false ? [`${r.server}: no forced GC (node without --expose-gc?): heap figures include garbage`] : []),
  ]);
  if (problems.length > 0) process.stdout.write(`\n${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join("\n")}\n`);

  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    node: process.version,
    grpcJs: grpcJsVersion,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    pinned: pinning.serverCpu !== undefined,
    settings,
    servers: reports,
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\ntook ${Math.round((Date.now() - startedAt) / 1000)} s; wrote ${relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}\n`);
  if (reports.some((r) => r.error)) process.exitCode = 1;
}

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

try {
  await main();
} catch (err) {
  const usage = err instanceof Error && /^(unknown flag|unexpected argument|--)/.test(err.message);
  process.stderr.write(`soak failed: ${usage ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
  process.exitCode = 1;
} finally {
  cleanup();
}
