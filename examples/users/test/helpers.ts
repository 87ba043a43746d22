/**
 * Test helpers for the Users example: child processes with line-wise output, the Python grpcio peers
 * (stubs generated at test time with protoc), and streaming HTTP reads.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { get, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where package.json with the users:* scripts lives). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const EXAMPLE = join(ROOT, "examples/users");
export const PEERS = join(EXAMPLE, "test/peers");
export const PYTHON = "/usr/bin/python3";

// ---- child processes ------------------------------------------------------------------------------

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Proc {
  readonly child: ChildProcess;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly detached: boolean;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; detached?: boolean } = {},
  ) {
    this.detached = options.detached ?? false;
    this.child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: this.detached,
    });
    this.exited = new Promise((resolve) => {
      this.child.on("error", (err) => {
        this.stderrLines.push(`spawn error: ${err.message}`);
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
        this.notify();
      });
      this.child.on("close", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
        this.notify();
      });
    });
    collectLines(this.child.stdout!, this.stdoutLines, () => this.notify());
    collectLines(this.child.stderr!, this.stderrLines, () => this.notify());
  }

  get stdout(): string {
    return this.stdoutLines.join("\n");
  }

  get stderr(): string {
    return this.stderrLines.join("\n");
  }

  /** Everything the process printed so far, for assertion messages. */
  describe(): string {
    return `${this.name} stdout:\n${this.stdout}\n${this.name} stderr:\n${this.stderr}`;
  }

  /** Resolves with the first stdout line matching `pattern` (past or future); rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of this.stdoutLines) {
          const match = pattern.exec(line);
          if (match) return done(undefined, match);
        }
        if (this.exit) done(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before printing ${pattern}\n${this.describe()}`));
      };
      const timer = setTimeout(() => done(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
      const done = (err?: Error, match?: RegExpExecArray): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve(match!);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the process to exit by itself; kills it if it takes longer than `timeoutMs`. */
  async waitForExit(timeoutMs = 20_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      this.kill("SIGKILL");
      await this.exited;
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms\n${this.describe()}`);
    }
    return result;
  }

  /** Sends `signal` (to the whole process group when started detached, e.g. npm and its node child). */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.exit || this.child.pid === undefined) return;
    try {
      if (this.detached) process.kill(-this.child.pid, signal);
      else this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Closes stdin and sends SIGTERM, then SIGKILL if it is still there after `graceMs`: for after hooks. */
  async stop(graceMs = 5000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.stdin?.end();
    this.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), graceMs))),
    ]);
    clearTimeout(timer);
    if (waited) return waited;
    this.kill("SIGKILL");
    return this.exited;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function collectLines(stream: NodeJS.ReadableStream, into: string[], onLine: () => void): void {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    into.push(...parts);
    if (parts.length > 0) onLine();
  });
  stream.on("end", () => {
    if (partial !== "") into.push(partial);
    partial = "";
    onLine();
  });
}

/** `node examples/users/dist/src/<script>.js ...args`: one of the example's compiled programs, as the npm scripts run it. */
export function startExample(script: "server" | "client" | "web", args: readonly string[]): Proc {
  return new Proc(`users ${script}`, process.execPath, [`examples/users/dist/src/${script}.js`, ...args]);
}

/** `npm run --silent users:<script> -- ...args`, in its own process group so it can be stopped as a whole. */
export function startNpmScript(script: "server" | "client" | "web", args: readonly string[]): Proc {
  return new Proc(`npm run users:${script}`, "npm", ["run", "--silent", `users:${script}`, "--", ...args], { detached: true });
}

/** Starts the example gRPC server on a free port; resolves once it printed its port. */
export async function startExampleServer(extraArgs: readonly string[] = []): Promise<{ proc: Proc; port: number }> {
  const proc = startExample("server", ["--port=0", ...extraArgs]);
  const match = await proc.waitForLine(/^Users server listening on 127\.0\.0\.1:(\d+)$/);
  return { proc, port: Number(match[1]) };
}

// ---- Python grpcio peers --------------------------------------------------------------------------

/** Why the Python peers cannot run here, or undefined when they can. */
export function pythonUnavailableReason(): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf"], { encoding: "utf8" });
  if (probe.error) return `${PYTHON} cannot run: ${probe.error.message}`;
  if (probe.status !== 0) return `${PYTHON} cannot import grpc: ${probe.stderr.trim().split("\n").pop()}`;
  for (const tool of ["/usr/bin/protoc", "/usr/bin/grpc_python_plugin"]) {
    if (!existsSync(tool)) return `${tool} is missing (install protobuf-compiler and protobuf-compiler-grpc)`;
  }
  return undefined;
}

/** Generates the Python stubs of users.proto and users_types.proto into a fresh temporary folder. */
export function generatePythonStubs(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "users-py-"));
  const run = spawnSync(
    "/usr/bin/protoc",
    [
      "-I",
      join(EXAMPLE, "proto"),
      `--python_out=${dir}`,
      `--grpc_python_out=${dir}`,
      "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
      "users.proto",
      "users_types.proto",
    ],
    { encoding: "utf8" },
  );
  if (run.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`protoc failed (${run.status}): ${run.stderr}`);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function startPythonPeer(stubs: string, script: "users_server.py" | "users_client.py", args: readonly string[]): Proc {
  return new Proc(`python ${script}`, PYTHON, ["-u", join(PEERS, script), ...args], {
    env: { PYTHONPATH: stubs, PYTHONDONTWRITEBYTECODE: "1" },
  });
}

/** Starts the Python server on a free port; resolves once it printed "PORT n". */
export async function startPythonServer(stubs: string, extraArgs: readonly string[] = []): Promise<{ proc: Proc; port: number }> {
  const proc = startPythonPeer(stubs, "users_server.py", ["--port", "0", ...extraArgs]);
  const match = await proc.waitForLine(/^PORT (\d+)$/);
  return { proc, port: Number(match[1]) };
}

// ---- HTTP -----------------------------------------------------------------------------------------

/** A GET without connection reuse (so no socket outlives the test). */
export function httpGet(url: string, method = "GET"): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, method }, resolve);
    req.on("error", reject);
  });
}

/** The body's lines as they arrive (each with the time it arrived). */
export async function* bodyLines(res: IncomingMessage): AsyncGenerator<{ line: string; at: number }> {
  res.setEncoding("utf8");
  let partial = "";
  for await (const chunk of res as AsyncIterable<string>) {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const line of parts) yield { line, at: Date.now() };
  }
  if (partial !== "") yield { line: partial, at: Date.now() };
}

export async function readBody(res: IncomingMessage): Promise<string> {
  res.setEncoding("utf8");
  let body = "";
  for await (const chunk of res as AsyncIterable<string>) body += chunk;
  return body;
}

/** Parses NDJSON text into its objects. */
export function parseNdjson(text: string): unknown[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as unknown);
}

/** The JSON after "CreateUser metadata: " in a server's log. */
export function loggedMetadata(lines: readonly string[]): Array<Record<string, string[]>> {
  return lines
    .filter((line) => line.startsWith("CreateUser metadata: "))
    .map((line) => JSON.parse(line.slice("CreateUser metadata: ".length)) as Record<string, string[]>);
}

/** The seconds left in each "CreateUser ... deadline: N s left" log line. */
export function loggedDeadlines(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const match = /^CreateUser from .*, deadline: ([\d.]+) s left$/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}
