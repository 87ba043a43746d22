// Python stubs for the grpcio interop peers (packages/interop/peers/grpcio_*.py), generated at test time:
// protoc with grpc_python_plugin writes grpc/testing/*_pb2*.py for the test protos that the Debian package
// grpc-proto installs into a temporary directory, once per test process. The peers run with PYTHONPATH set
// to that directory. Nothing generated is kept in the repository.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The system Python with the Debian grpcio (not whatever python3 comes first on PATH). */
export const PYTHON = process.env.INTEROP_PYTHON ?? "/usr/bin/python3";
const PROTOC = process.env.INTEROP_PROTOC ?? "/usr/bin/protoc";
const GRPC_PYTHON_PLUGIN = process.env.INTEROP_GRPC_PYTHON_PLUGIN ?? "/usr/bin/grpc_python_plugin";
const PROTO_DIR = process.env.GRPC_PROTO_DIR ?? "/usr/share/grpc-proto";
const PROTOS = ["grpc/testing/test.proto", "grpc/testing/messages.proto", "grpc/testing/empty.proto"];

function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: env ?? process.env, timeout: 60_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      resolve({ ok: !error, output: error && !output ? error.message : output });
    });
  });
}

export interface PythonStubs {
  /** The directory to put on PYTHONPATH (it holds grpc/testing/*_pb2*.py). */
  pythonPath: string;
  /** An environment for the peers: the current one with PYTHONPATH set. */
  env: NodeJS.ProcessEnv;
}

export type PythonStubsResult = { ok: true; stubs: PythonStubs } | { ok: false; reason: string };

let pending: Promise<PythonStubsResult> | null = null;
let directory: string | null = null;

/**
 * Generates the stubs on first use (later calls get the same result) and checks that they import under
 * grpcio. Resolves with a reason instead when Python, grpcio, protoc or the plugin is missing, so the
 * caller can skip the grpcio pairings and say why.
 */
export function pythonStubs(): Promise<PythonStubsResult> {
  pending ??= generate();
  return pending;
}

async function generate(): Promise<PythonStubsResult> {
  const probe = await run(PYTHON, ["-c", "import grpc, google.protobuf; print(grpc.__version__)"]);
  if (!probe.ok) return { ok: false, reason: `${PYTHON} cannot import grpc (python3-grpcio, python3-protobuf): ${probe.output}` };

  directory = mkdtempSync(join(tmpdir(), "tsgrpc-python-stubs-"));
  process.once("exit", cleanupPythonStubs);
  const generated = await run(PROTOC, [
    `-I${PROTO_DIR}`,
    `--python_out=${directory}`,
    `--grpc_python_out=${directory}`,
    `--plugin=protoc-gen-grpc_python=${GRPC_PYTHON_PLUGIN}`,
    ...PROTOS,
  ]);
  if (!generated.ok) return { ok: false, reason: `${PROTOC} could not generate the Python stubs: ${generated.output}` };

  const env = { ...process.env, PYTHONPATH: directory, PYTHONDONTWRITEBYTECODE: "1" };
  // The peers add the stub directory to grpc.__path__ themselves; this checks the stubs load that way.
  const imported = await run(
    PYTHON,
    [
      "-c",
      "import os, sys, grpc; grpc.__path__.append(os.path.join(sys.argv[1], 'grpc')); " +
        "from grpc.testing import test_pb2_grpc, messages_pb2, empty_pb2",
      directory,
    ],
    env,
  );
  if (!imported.ok) return { ok: false, reason: `the generated Python stubs do not import: ${imported.output}` };
  return { ok: true, stubs: { pythonPath: directory, env } };
}

/** Removes the generated stubs (also done when the process exits). */
export function cleanupPythonStubs(): void {
  if (directory) rmSync(directory, { recursive: true, force: true });
  directory = null;
  pending = null;
}
