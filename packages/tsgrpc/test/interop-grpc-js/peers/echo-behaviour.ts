// What the two interop Echo servers (grpc-js-echo-server.ts and tsgrpc-echo-server.ts) do, shared so both
// behave the same; the tests in ../ rely on exactly this. Nothing here depends on either gRPC library.
//
// Request metadata:
//   x-call-id              tags the call in the stats (see "stats?")
//   x-echo-<name>          sent back as initial metadata (every value, in order) — except:
//   x-echo-trailer-<name>  sent back as trailing metadata, also when the call fails
//   x-compress-response    "gzip"/"deflate": compress the responses (only servers that can: grpc-js cannot)
//
// Request message (EchoRequest.message) commands:
//   "stats?"               Unary answers with JSON Stats: every call seen with an x-call-id
//   "metadata?"            Unary answers with JSON: the request metadata whose keys start with "x-"
//   "zeros:<n>"            responses carry n zero bytes as payload instead of the request's payload
//   "fail:<code>:<details>" the call ends with that status (after `count` responses on ServerStream),
//                          with trailing metadata x-fail: "<code>" and x-fail-bin: [0xfa, 0x11, 0x00]
//   anything else          echoed
//
// Unary: waits delayMs, answers {message, payload, index: 0}.
// ServerStream: `count` responses {message, index, payload}, each after waiting delayMs.
// ClientStream: waits each request's delayMs as it comes; answers {message: messages joined by ",",
//   index: number of requests, payload: the payloads concatenated}. A "fail:" request ends the call.
// Bidi: per request, waits its delayMs and answers {message, index, payload}; "fail:" ends the call.
// A wait ends early when the call is cancelled or its deadline passes; that is recorded in the stats.

export const CALL_ID = "x-call-id";
export const COMPRESS_RESPONSE = "x-compress-response";
export const FAIL_BIN_VALUE = Uint8Array.of(0xfa, 0x11, 0x00);

/** How a call ended as the server saw it. */
export type CallOutcome = "completed" | "failed" | "cancelled" | "deadline";

export interface CallRecord {
  method: string;
  /** Milliseconds left before the deadline when the handler started; null when the client set none. */
  deadlineMs: number | null;
  outcome?: CallOutcome;
}

export interface Stats {
  calls: Record<string, CallRecord>;
}

export type Command =
  | { kind: "stats" }
  | { kind: "metadata" }
  | { kind: "fail"; code: number; details: string }
  | { kind: "echo"; zeros: number | undefined };

export function parseCommand(message: string): Command {
  if (message === "stats?") return { kind: "stats" };
  if (message === "metadata?") return { kind: "metadata" };
  const fail = /^fail:(\d+):([\s\S]*)$/.exec(message);
  if (fail) return { kind: "fail", code: Number(fail[1]), details: fail[2]! };
  const zeros = /^zeros:(\d+)$/.exec(message);
  return { kind: "echo", zeros: zeros ? Number(zeros[1]) : undefined };
}

export type Entry = readonly [key: string, value: string | Uint8Array];

/** Splits request metadata into what goes back as initial and as trailing metadata. */
export function echoedMetadata(entries: Iterable<Entry>): { initial: Entry[]; trailing: Entry[] } {
  const initial: Entry[] = [];
  const trailing: Entry[] = [];
  for (const entry of entries) {
    if (entry[0].startsWith("x-echo-trailer-")) trailing.push(entry);
    else if (entry[0].startsWith("x-echo-")) initial.push(entry);
  }
  return { initial, trailing };
}

/** JSON form of request metadata for "metadata?": key → values, bytes as "base64:<padded base64>". */
export function metadataJson(entries: Iterable<Entry>): string {
  const out: Record<string, string[]> = {};
  for (const [key, value] of entries) {
    if (!key.startsWith("x-")) continue;
    const text = typeof value === "string" ? value : `base64:${Buffer.from(value).toString("base64")}`;
    (out[key] ??= []).push(text);
  }
  return JSON.stringify(out);
}

export function failTrailers(code: number): Entry[] {
  return [["x-fail", String(code)], ["x-fail-bin", FAIL_BIN_VALUE]];
}

/** The call bookkeeping behind "stats?". */
export class StatsBook {
  private readonly calls: Record<string, CallRecord> = {};

  start(id: string | undefined, method: string, deadlineMs: number | null): CallRecord | undefined {
    if (id === undefined) return undefined;
    const record: CallRecord = { method, deadlineMs };
    this.calls[id] = record;
    return record;
  }

  json(): string {
    return JSON.stringify({ calls: this.calls } satisfies Stats);
  }
}

/** Waits `ms`, or less if `signal` aborts first; resolves false when cut short. */
export function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Prints the port line the test waits for, and exits when the test's end of stdin closes. */
export function announceAndWatchStdin(port: number, onExit: () => Promise<void> | void): void {
  process.stdout.write(`PORT ${port}\n`);
  let exiting = false;
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    const hardStop = setTimeout(() => process.exit(0), 2000);
    hardStop.unref();
    Promise.resolve()
      .then(onExit)
      .catch(() => {})
      .finally(() => process.exit(0));
  };
  process.stdin.on("end", exit);
  process.stdin.on("error", exit);
  process.stdin.resume();
  process.on("SIGTERM", exit);
  process.on("SIGINT", exit);
}
