// The Python grpcio peers: availability check, stubs generated with protoc at test time, and the peer
// processes. Debian's interpreter is used on purpose: python3-grpcio is installed for it, not for
// whatever `python3` comes first on PATH. ROUTE_GUIDE_PYTHON names another interpreter.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { EXAMPLE_DIR, spawnChild, type Child, type Exit } from "./processes.js";

export const PYTHON = process.env.ROUTE_GUIDE_PYTHON || "/usr/bin/python3";
export const PROTOC = "/usr/bin/protoc";
export const GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin";
const PEERS = join(EXAMPLE_DIR, "test/peers");

let missing: string | null | undefined;

/** Why the Python peers cannot run here, or undefined when they can. */
export function pythonPeersMissing(): string | undefined {
  if (missing === undefined) missing = checkPython() ?? null;
  return missing ?? undefined;
}

function checkPython(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf; print(grpc.__version__)"], { encoding: "utf8", timeout: 20_000 });
  if (probe.status !== 0) return `${PYTHON} cannot import grpc: ${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()}`;
  if (!existsSync(PROTOC)) return `${PROTOC} not found (Debian package protobuf-compiler)`;
  if (!existsSync(GRPC_PYTHON_PLUGIN)) return `${GRPC_PYTHON_PLUGIN} not found (Debian package protobuf-compiler-grpc)`;
  return undefined;
}

/** Skips the test when the peers cannot run; returns true if it did. */
export function skipWithoutPython(t: TestContext): boolean {
  const reason = pythonPeersMissing();
  if (reason === undefined) return false;
  t.skip(`python3-grpcio not installed: ${reason}`);
  return true;
}

let stubs: string | undefined;

/** route_guide_pb2(_grpc).py, generated once per test file into a temporary folder. */
export function pythonStubs(): string {
  if (stubs !== undefined) return stubs;
  const dir = mkdtempSync(join(tmpdir(), "route-guide-py-"));
  const run = spawnSync(
    PROTOC,
    ["-I", "proto", `--python_out=${dir}`, `--grpc_python_out=${dir}`, `--plugin=protoc-gen-grpc_python=${GRPC_PYTHON_PLUGIN}`, "route_guide.proto"],
    { cwd: EXAMPLE_DIR, encoding: "utf8", timeout: 30_000 },
  );
  if (run.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`protoc failed (${run.status}): ${run.stderr}${run.error?.message ?? ""}`);
  }
  stubs = dir;
  return dir;
}

/** Removes the generated stubs (call from an after hook). */
export function removePythonStubs(): void {
  if (stubs !== undefined) rmSync(stubs, { recursive: true, force: true });
  stubs = undefined;
}

function spawnPeer(t: TestContext, name: string, script: string, args: string[]): Child {
  return spawnChild(t, name, PYTHON, [join(PEERS, script), ...args], {
    env: { ...process.env, PYTHONPATH: pythonStubs(), PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
  });
}

/** The Python grpcio RouteGuide server on 127.0.0.1; resolves once it serves. Stopped after the test. */
export async function startPythonServer(t: TestContext, db: string): Promise<{ child: Child; port: number }> {
  const child = spawnPeer(t, "python route_guide_server.py", "route_guide_server.py", ["--db", db, "--port", "0"]);
  const match = await child.waitFor(/^PORT (\d+)$/m, 20_000);
  return { child, port: Number(match[1]) };
}

/** One JSON line of the Python client. */
export interface ClientRecord {
  call: "GetFeature" | "ListFeatures" | "RecordRoute" | "RouteChat";
  label: string;
  request: any;
  response: any;
}

/** Runs the Python grpcio client against `target` to the end; returns its exit and parsed records. */
export async function runPythonClient(t: TestContext, target: string, db: string, paceMs = 750): Promise<{ exit: Exit; records: ClientRecord[]; done: boolean }> {
  const child = spawnPeer(t, "python route_guide_client.py", "route_guide_client.py", ["--target", target, "--db", db, "--pace-ms", String(paceMs)]);
  const exit = await child.waitForExit(40_000);
  const lines = exit.stdout.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    exit,
    records: lines.filter((l) => "call" in l) as unknown as ClientRecord[],
    done: lines.some((l) => l.done === true),
  };
}
