// Child processes of the orchestrators (run.ts for `npm run bench`, soak.ts for `npm run soak`): every
// child is tracked so that all can be killed when the run ends, fails or is interrupted; pinning with
// taskset; the compiled programs of this package.
import { spawnSync, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** packages/bench. This file runs compiled, as dist/src/children.js. */
export const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));

export function commandWorks(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: "ignore", timeout: 10_000 });
  return result.error === undefined && result.status === 0;
}

/** Every child still running; killChildren() kills them. */
const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.once("error", () => children.delete(child));
  return child;
}

/** SIGKILLs every tracked child that is still running (synchronous: safe in an "exit" handler). */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
}

/** `command args` pinned to `cpu` when pinning is on. taskset execs the command: the pid stays the same. */
export function pinned(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [command, args] : ["taskset", ["-c", String(cpu), command, ...args]];
}

export interface Pinning {
  serverCpu: number | undefined;
  loadCpu: number | undefined;
  /** One line for the header of the output. */
  description: string;
}

/** Servers on CPU 0 and load generators on CPU 1, when `wanted`, there are 2 CPUs and taskset works. */
export function choosePinning(wanted: boolean): Pinning {
  const cpuCount = availableParallelism();
  const canPin = wanted && cpuCount >= 2 && commandWorks("taskset", ["-c", "0", "true"]) && commandWorks("taskset", ["-c", "1", "true"]);
  if (canPin) return { serverCpu: 0, loadCpu: 1, description: "pinning: servers on CPU 0 (taskset -c 0), load generators on CPU 1 (taskset -c 1)" };
  const description = !wanted
    ? "pinning: off (--no-pin); processes run unpinned"
    : `pinning: unavailable (${cpuCount < 2 ? "fewer than 2 CPUs" : "taskset not found or not permitted"}); processes run unpinned, expect more noise`;
  return { serverCpu: undefined, loadCpu: undefined, description };
}

/**
 * `node [nodeOptions] dist/<program>.js args`: the program as the build compiled it, importing tsgrpc's
 * published build (packages/tsgrpc/dist) exactly as an application that installed it would; @grpc/grpc-js
 * runs as its published code too.
 */
export function nodeScript(program: string, args: string[] = [], nodeOptions: string[] = []): [string, string[]] {
  return [process.execPath, [...nodeOptions, join(PACKAGE_DIR, "dist", `${program}.js`), ...args]];
}

/** Keeps the last few KB of a child's stderr for error messages. */
export function stderrTail(child: ChildProcess): () => string {
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-4000);
  });
  return () => tail.trim();
}
