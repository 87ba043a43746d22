// The soak benchmark's load process, on tsgrpc's client: soak.ts drives the tsgrpc server and the
// grpc-js server with this same program, so only the server differs. It reads commands on stdin and
// answers each with one JSON line on stdout (see soak-protocol.ts), one command at a time; it exits when
// stdin closes.
//
// Flags: --target=127.0.0.1:N --size=100 --messages=10 --deadline-ms=20 --cancels-per-connection=500
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { Code, RpcError, createChannel, createClient, createPushable, type Channel, type Client } from "tsgrpc";
import { payloadOf, streamRequestOf } from "../bench-service.js";
import { exitWhenStdinCloses, numberFlag, parseFlags, stringFlag } from "../flags.js";
import { Bench, type Payload } from "../gen/bench_pb.js";
import {
  CANCEL_VARIANTS,
  type FailedReply,
  type IdleCloseResult,
  type IdleOpenResult,
  type PhaseResult,
  type SoakCommand,
  type SoakKind,
} from "./soak-protocol.js";

const flags = parseFlags(process.argv.slice(2), ["target", "size", "messages", "deadline-ms", "cancels-per-connection"]);
const target = stringFlag(flags, "target");
const size = numberFlag(flags, "size", 100, { integer: true, min: 0 });
/** Messages per streaming call (server-stream, client-stream, bidi). */
const messages = numberFlag(flags, "messages", 10, { integer: true, min: 1 });
/** The deadline of the "deadline" calls; the server would answer only after WAIT_MS. */
const deadlineMs = numberFlag(flags, "deadline-ms", 20, { integer: true, min: 1 });
/**
 * Cancel and deadline calls per connection; 0: all of them on the main connection. Every such call ends
 * with the client sending RST_STREAM, and Node's HTTP/2 server (nghttp2's rapid-reset protection, for any
 * server on node:http2) tears down a connection that receives more than 1000 of them in a burst (the
 * allowance refills at 33 per second), failing its open calls UNAVAILABLE. So these calls move to a new
 * connection every so often, well below that limit.
 */
const cancelsPerConnection = numberFlag(flags, "cancels-per-connection", 500, { integer: true, min: 0 });

/** How long the server's Wait handler would wait: far beyond any deadline or cancellation here. */
const WAIT_MS = 60_000;
/** A cancelled stream is cancelled after this many messages went each way that it goes. */
const CANCEL_AFTER = 3;
/** A phase stops early after this many errors (the server is broken; the report says so). */
const MAX_ERRORS = 1000;
/** How long calls still running get once a phase has started its last call. */
const DRAIN_MS = 15_000;
const ERROR_SAMPLES = 5;
/** setTimeout's largest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const channel = createChannel(target);
const client = createClient(Bench, channel);
const request = payloadOf(size);
const streamRequest = streamRequestOf(messages, size);
const clientStreamRequests: readonly Payload[] = Array.from({ length: messages }, () => request);
const endlessStreamRequest = streamRequestOf(1_000_000, size);

class Unexpected extends Error {}

/** A client whose connection is replaced after `callsPerConnection` calls; a retired one closes once its calls are over. */
class RotatingClient {
  private current: { channel: Channel; client: Client<typeof Bench>; started: number; running: number } | undefined;

  constructor(private readonly callsPerConnection: number) {}

  async use(call: (client: Client<typeof Bench>) => Promise<void>): Promise<void> {
    if (this.callsPerConnection === 0) return call(client);
    if (this.current === undefined || this.current.started >= this.callsPerConnection) {
      const retired = this.current;
      const ch = createChannel(target);
      this.current = { channel: ch, client: createClient(Bench, ch), started: 0, running: 0 };
      if (retired && retired.running === 0) retired.channel.close();
    }
    const used = this.current;
    used.started++;
    used.running++;
    try {
      await call(used.client);
    } finally {
      used.running--;
      if (used !== this.current && used.running === 0) used.channel.close();
    }
  }

  close(): void {
    this.current?.channel.close();
    this.current = undefined;
  }
}

const rotating = new RotatingClient(cancelsPerConnection);

// ---- one call of each kind: resolves when it ended as it should, throws otherwise ----------------------

async function unary(): Promise<void> {
  const response = await client.unary(request);
  if (response.body.byteLength !== size) throw new Unexpected(`unary: ${response.body.byteLength} bytes echoed, ${size} sent`);
}

async function serverStream(): Promise<void> {
  let received = 0;
  for await (const _message of client.stream(streamRequest)) received++;
  if (received !== messages) throw new Unexpected(`server-stream: ${received} messages, ${messages} asked for`);
}

async function clientStream(): Promise<void> {
  const summary = await client.clientStream(clientStreamRequests);
  if (summary.count !== messages || summary.bytes !== messages * size) {
    throw new Unexpected(`client-stream: the server counted ${summary.count} messages / ${summary.bytes} bytes, ${messages} / ${messages * size} sent`);
  }
}

/** Ping-pong: each request goes out when the echo of the one before came back. */
async function bidi(): Promise<void> {
  const requests = createPushable<Payload>();
  requests.push(request);
  let received = 0;
  for await (const _echo of client.bidi(requests)) {
    if (++received < messages) requests.push(request);
    else requests.end();
  }
  if (received !== messages) throw new Unexpected(`bidi: ${received} echoes, ${messages} sent`);
}

const isCode = (err: unknown, code: Code): boolean => err instanceof RpcError && err.code === code;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Cancelled by the client (AbortSignal) mid-call; the variant rotates with `index`. */
function cancel(index: number): Promise<void> {
  return rotating.use((client) => cancelOn(client, index));
}

async function cancelOn(client: Client<typeof Bench>, index: number): Promise<void> {
  const variant = CANCEL_VARIANTS[index % CANCEL_VARIANTS.length]!;
  const controller = new AbortController();
  const options = { signal: controller.signal };
  const requests = createPushable<Payload>();
  try {
    switch (variant) {
      case "server-stream": {
        // A stream the server would keep sending for long; cancelled after a few messages arrived.
        let received = 0;
        for await (const _message of client.stream(endlessStreamRequest, options)) if (++received === CANCEL_AFTER) controller.abort();
        break;
      }
      case "client-stream": {
        // A request stream that never ends; cancelled once a few requests are out and the server had a moment to read them.
        for (let i = 0; i < CANCEL_AFTER; i++) requests.push(request);
        const call = client.clientStream(requests, options);
        await sleep(1);
        controller.abort();
        await call;
        break;
      }
      case "bidi": {
        // Ping-pong that is cancelled after a few echoes, with the server handler waiting for more.
        requests.push(request);
        let received = 0;
        for await (const _echo of client.bidi(requests, options)) {
          if (++received === CANCEL_AFTER) controller.abort();
          else requests.push(request);
        }
        break;
      }
      case "wait": {
        // A unary call cancelled while the server handler waits.
        const call = client.wait({ ms: WAIT_MS }, options);
        await sleep(2);
        controller.abort();
        await call;
        break;
      }
    }
  } catch (err) {
    if (isCode(err, Code.CANCELLED)) return;
    throw err;
  } finally {
    requests.end();
  }
  throw new Unexpected(`cancel (${variant}): the call ended without an error`);
}

/** Hits its short deadline while the server handler waits. */
function deadline(): Promise<void> {
  return rotating.use(deadlineOn);
}

async function deadlineOn(client: Client<typeof Bench>): Promise<void> {
  try {
    await client.wait({ ms: WAIT_MS }, { timeoutMs: deadlineMs });
  } catch (err) {
    if (isCode(err, Code.DEADLINE_EXCEEDED)) return;
    throw err;
  }
  throw new Unexpected("deadline: the call succeeded");
}

const CALLS: Record<SoakKind, (index: number) => Promise<void>> = {
  unary,
  "server-stream": serverStream,
  "client-stream": clientStream,
  bidi,
  cancel,
  deadline,
};

// ---- a phase ---------------------------------------------------------------------------------------------

async function runPhase(kind: SoakKind, calls: number, concurrency: number, stopAt: number): Promise<PhaseResult> {
  const call = CALLS[kind];
  const startedAt = performance.now();
  let started = 0;
  let ok = 0;
  let errors = 0;
  let stopped: string | undefined;
  const samples = new Map<string, number>();
  let allStarted!: () => void;
  const everyCallStarted = new Promise<void>((resolve) => (allStarted = resolve));

  const mayStart = (): boolean => {
    if (stopped === undefined && started < calls && Date.now() >= stopAt) stopped = "time limit";
    if (stopped === undefined && started < calls) return true;
    allStarted();
    return false;
  };
  const loop = async (): Promise<void> => {
    while (mayStart()) {
      const index = started++;
      try {
        await call(index);
        ok++;
      } catch (err) {
        errors++;
        const message = err instanceof Error ? err.message : String(err);
        if (samples.has(message) || samples.size < ERROR_SAMPLES) samples.set(message, (samples.get(message) ?? 0) + 1);
        if (errors >= MAX_ERRORS) stopped = `${MAX_ERRORS} errors`;
      }
    }
  };
  const loops = Promise.all(Array.from({ length: Math.min(concurrency, Math.max(calls, 1)) }, loop));
  // Bounded: once the last call has started (or the phase stopped), the rest get DRAIN_MS to finish;
  // and no phase outlives its time limit by more than that.
  let drainTimer: NodeJS.Timeout | undefined;
  let limitTimer: NodeJS.Timeout | undefined;
  const drained = everyCallStarted.then(() => new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, DRAIN_MS))));
  const limitMs = Math.min(Math.max(0, stopAt - Date.now()) + DRAIN_MS, MAX_TIMER_MS);
  const limit = new Promise<void>((resolve) => (limitTimer = setTimeout(resolve, limitMs)));
  await Promise.race([loops, drained, limit]);
  clearTimeout(drainTimer);
  clearTimeout(limitTimer);
  const unfinished = started - ok - errors;
  if (unfinished > 0) {
    stopped ??= "calls did not finish";
    samples.set(`did not finish within ${DRAIN_MS / 1000} s`, unfinished);
  }
  const result: PhaseResult = {
    kind,
    calls: started,
    ok,
    errors: errors + unfinished,
    unfinished,
    seconds: (performance.now() - startedAt) / 1000,
    errorSamples: [...samples].map(([message, count]) => ({ message, count })),
  };
  if (stopped !== undefined) result.stopped = stopped;
  // Stop the loops of a phase that gave up: they must not go on calling during the next phase.
  stopped ??= "phase over";
  return result;
}

// ---- idle connections ------------------------------------------------------------------------------------

let idleChannels: Channel[] = [];

async function idleOpen(connections: number): Promise<IdleOpenResult> {
  // A channel per connection (a tsgrpc channel has one connection); each makes one call so that the
  // connection is fully set up (TCP, SETTINGS both ways, a stream served), then it stays idle.
  const opened = Array.from({ length: connections }, () => createChannel(target));
  idleChannels.push(...opened);
  const results = await Promise.allSettled(
    opened.map((ch) => createClient(Bench, ch).unary(request, { timeoutMs: 30_000 })),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  const result: IdleOpenResult = { opened: connections - failed.length, errors: failed.length };
  if (failed.length > 0) result.firstError = String((failed[0]!.reason as Error)?.message ?? failed[0]!.reason);
  return result;
}

function idleClose(): IdleCloseResult {
  for (const ch of idleChannels) ch.close();
  const closed = idleChannels.length;
  idleChannels = [];
  return { closed };
}

// ---- the command loop --------------------------------------------------------------------------------------

async function execute(command: SoakCommand): Promise<PhaseResult | IdleOpenResult | IdleCloseResult> {
  switch (command.op) {
    case "run":
      return runPhase(command.kind, command.calls, command.concurrency, command.stopAt);
    case "idle-open":
      return idleOpen(command.connections);
    case "idle-close":
      return idleClose();
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}`);
  }
}

let queue: Promise<void> = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  queue = queue.then(async () => {
    let reply: PhaseResult | IdleOpenResult | IdleCloseResult | FailedReply;
    try {
      reply = await execute(JSON.parse(line) as SoakCommand);
    } catch (err) {
      reply = { failed: err instanceof Error ? err.message : String(err) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
});
exitWhenStdinCloses(() => {
  idleClose();
  rotating.close();
  channel.close();
});
