import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
/** The buf CLI shipped in the @bufbuild/buf npm package (a node shim that runs the platform binary). */
const BUF = require.resolve("@bufbuild/buf/bin/buf");

export interface BufResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function runBuf(args: readonly string[], cwd: string): Promise<BufResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUF, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr }));
  });
}

export function runBufSync(args: readonly string[], cwd: string): BufResult {
  const result = spawnSync(process.execPath, [BUF, ...args], { cwd, maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr.toString() };
}
