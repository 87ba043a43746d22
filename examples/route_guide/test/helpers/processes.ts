// Child processes for the CLI and interop tests: output collected as it comes, lines awaited with a
// timeout, and a stop that is registered on the test so nothing outlives it.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

/** The monorepo root (where the npm scripts run). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
/** examples/route_guide */
export const EXAMPLE_DIR = fileURLToPath(new URL("../../", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Child {
  stdout = "";
  stderr = "";
  readonly exited: Promise<Exit>;
  private waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    process.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
      this.wake();
    });
    process.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      process.on("close", (code, signal) => {
        this.wake();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
    // A failed spawn (e.g. no such program) also ends in "close"; the error itself is reported there.
    process.on("error", (err) => {
      this.stderr += `spawn error: ${err.message}\n`;
    });
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves with the first match of `pattern` in stdout; rejects on exit or after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const giveUpAt = Date.now() + timeoutMs;
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match) return match;
      if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      const left = giveUpAt - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the exit, killing the process (SIGKILL) if it takes longer than `timeoutMs`. */
  async waitForExit(timeoutMs = 15_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result !== "timeout") return result;
    this.kill("SIGKILL");
    const exit = await this.exited;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms (killed)\nstdout:\n${exit.stdout}\nstderr:\n${exit.stderr}`);
  }

  /** Signals the process (or its whole group, when spawned detached) if it still runs. */
  kill(signal: NodeJS.Signals = "SIGTERM", group = false): void {
    if (!this.running || this.process.pid === undefined) return;
    try {
      process.kill(group ? -this.process.pid : this.process.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Stops it for good: closes stdin, then SIGTERM, then SIGKILL; resolves once it has exited. */
  async stop(group = false): Promise<void> {
    if (!this.running) {
      await this.exited;
      return;
    }
    this.process.stdin?.end();
    const step = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const exited = await Promise.race([this.exited.then(() => true), late]);
      clearTimeout(timer);
      return exited;
    };
    if (await step(1500)) return;
    this.kill("SIGTERM", group);
    if (await step(3000)) return;
    this.kill("SIGKILL", group);
    await this.exited;
  }
}

/**
 * Children still running, killed if this test process ends before its after hooks have stopped them (a
 * file that times out is terminated by the test runner): a server CLI does not watch its stdin, so it
 * would otherwise live on.
 */
const running = new Map<ChildProcess, boolean>();

function killRunning(): void {
  for (const [child, group] of running) {
    try {
      if (child.pid !== undefined) process.kill(group ? -child.pid : child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

let hooked = false;
function hookProcessEnd(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killRunning);
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      killRunning();
      process.kill(process.pid, signal); // no listener left now: the default action ends the process
    });
  }
}

/** Spawns a process whose stop is registered on `t` (so it ends before the file's leak check). */
export function spawnChild(t: TestContext, name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
  const spawned = spawn(command, args, { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"], ...options });
  hookProcessEnd();
  running.set(spawned, options.detached === true);
  spawned.on("close", () => running.delete(spawned));
  const child = new Child(name, spawned);
  t.after(() => child.stop(options.detached === true));
  return child;
}

/** Runs one of the example's compiled programs (dist/, built by the test command) with node, as users run it. */
export function spawnProgram(t: TestContext, name: string, script: string, args: string[], options: SpawnOptions = {}): Child {
  return spawnChild(t, name, process.execPath, [script, ...args], options);
}

/** The example's server CLI on 127.0.0.1, port 0; resolves once it has printed its port. */
export async function startCliServer(t: TestContext, args: string[] = []): Promise<{ child: Child; port: number }> {
  const child = spawnProgram(t, "route_guide server", "examples/route_guide/dist/src/server.js", ["--port=0", ...args]);
  const match = await child.waitFor(/RouteGuide server listening on 127\.0\.0\.1:(\d+)/);
  return { child, port: Number(match[1]) };
}
