// The cross-implementation interop matrix: every pairing of an interop client with an interop server among
// tsgrpc (packages/interop/src), Python grpcio and @grpc/grpc-js (packages/interop/peers), over plaintext and
// over TLS. Each pairing starts the server (--port=0 --exit_on_stdin_close=true), runs the client once with
// --test_case=all, and turns each case the client reports into a subtest named after the pairing and case.
//
// Outcomes:
// - PASS passes. A client notes (NOTE name: server-accepted-uncompressed-probe) when the server accepted an
//   uncompressed request with expect_compressed=true; that fails the case unless the server peer lists the
//   case in peers/limitations.json (it cannot see request compression).
// - SKIP is allowed only when limitations.json lists the case for the client peer or the server peer; the
//   reason is printed. tsgrpc has no limitations list.
// - FAIL fails, unless the server peer lists the case in limitations.json: such cases are still run (and
//   usually pass: a server that cannot verify request compression just accepts it), but where the server
//   truly cannot do the case (grpc-js never compresses responses, so a client that checks the compressed
//   flag on the wire must fail it), this pairing reports the case as skipped with the server's reason and
//   the client's failure detail. No other failure is excused, and tsgrpc has no limitations list.
// grpcio ↔ grpc-js in both directions is the control that the peers themselves are right.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { failOnLeakedHandles } from "../../tsgrpc/test/helpers/leak-check.js";
import { INTEROP_CASE_NAMES } from "../src/case-names.js";
import { makeTestCertificates, TEST_SERVER_NAME, type TestCertificates } from "./helpers/certs.js";
import { PYTHON, pythonStubs, type PythonStubsResult, cleanupPythonStubs } from "./helpers/python-stubs.js";

failOnLeakedHandles();

const INTEROP = join(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = join(INTEROP, "..", "..");
const PEERS = join(INTEROP, "peers");
const SERVER_START_MS = 30_000;
const CLIENT_RUN_MS = 90_000;
const PAIRING_TIMEOUT_MS = 150_000;

type Implementation = "tsgrpc" | "grpcio" | "grpc-js";

interface Program {
  command: string;
  args: string[];
  /** A file that must exist for the program to run. */
  file: string;
}

// The node programs run as their compiled JavaScript (dist/, built by the test command), as users run them.
const node = (file: string): Program => ({ command: process.execPath, args: [file], file });
const python = (file: string): Program => ({ command: PYTHON, args: [file], file });

const PROGRAMS: Record<Implementation, { server: Program; client: Program }> = {
  tsgrpc: { server: node(join(INTEROP, "dist/src/server.js")), client: node(join(INTEROP, "dist/src/client.js")) },
  grpcio: { server: python(join(PEERS, "grpcio_server.py")), client: python(join(PEERS, "grpcio_client.py")) },
  "grpc-js": { server: node(join(INTEROP, "dist/peers/grpc-js-server.js")), client: node(join(INTEROP, "dist/peers/grpc-js-client.js")) },
};

/** [client, server] */
const PAIRINGS: ReadonlyArray<readonly [Implementation, Implementation]> = [
  ["tsgrpc", "tsgrpc"],
  ["tsgrpc", "grpcio"],
  ["grpcio", "tsgrpc"],
  ["tsgrpc", "grpc-js"],
  ["grpc-js", "tsgrpc"],
  ["grpcio", "grpc-js"],
  ["grpc-js", "grpcio"],
];

type Limitations = Record<string, Record<string, string>>;
const LIMITATIONS = JSON.parse(readFileSync(join(PEERS, "limitations.json"), "utf8")) as Limitations;
const limitation = (impl: Implementation, role: "client" | "server", testCase: string): string | undefined =>
  LIMITATIONS[`${impl}-${role}`]?.[testCase];

/** Every child this file starts, so that the after hook can make sure none outlives the tests. */
const children = new Set<ChildProcess>();

function start(program: Program, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(program.command, [...program.args, ...args], { cwd: REPO, env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  child.on("error", () => children.delete(child));
  child.stdin?.on("error", () => {}); // the child may be gone when stdin is closed
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Closes stdin (the servers exit on that), then escalates to SIGKILL if the child is still there.
 * Resolves with false if it had to kill.
 */
async function stop(child: ChildProcess, graceMs = 5000): Promise<boolean> {
  child.stdin?.end();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, graceMs);
  await exited(child);
  clearTimeout(timer);
  return !killed;
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  output: () => string;
}

async function startServer(program: Program, args: string[], env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const child = start(program, ["--port=0", "--exit_on_stdin_close=true", ...args], env);
  let output = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => (output += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => fail(`did not print its port within ${SERVER_START_MS} ms`), SERVER_START_MS);
    function fail(why: string) {
      clearTimeout(timer);
      reject(new Error(`server ${program.file} ${why}\n${output}${stdout}`));
    }
    child.stdout!.on("data", (chunk: string) => {
      output += chunk;
      stdout += chunk;
      const match = /interop server listening on port (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    child.once("error", (error) => fail(`could not start: ${error.message}`));
  });
  return { child, port, output: () => output };
}

interface ClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runClient(program: Program, args: string[], env: NodeJS.ProcessEnv): Promise<ClientRun> {
  const child = start(program, args, env);
  child.stdin!.end();
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, CLIENT_RUN_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}`, timedOut });
    });
    // "close", not "exit": all output has been read by then.
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

interface CaseReport {
  outcome: "PASS" | "FAIL" | "SKIP";
  detail: string;
  notes: string[];
}

/** The client's PASS/FAIL/SKIP lines (and NOTE lines) by case, and its summary line. */
function parseClientOutput(stdout: string): { cases: Map<string, CaseReport>; summary: string | null; unknown: string[] } {
  const cases = new Map<string, CaseReport>();
  const notes = new Map<string, string[]>();
  const unknown: string[] = [];
  let summary: string | null = null;
  for (const line of stdout.split(/\r?\n/)) {
    const result = /^(PASS|FAIL|SKIP) ([A-Za-z0-9_]+)(?::\s*(.*)|\s+(.*))?$/.exec(line);
    if (result) {
      const name = result[2]!;
      cases.set(name, {
        outcome: result[1] as CaseReport["outcome"],
        detail: (result[3] ?? result[4] ?? "").trim(),
        notes: notes.get(name) ?? [],
      });
      if (!(INTEROP_CASE_NAMES as readonly string[]).includes(name)) unknown.push(name);
      continue;
    }
    const note = /^NOTE ([A-Za-z0-9_]+): (.*)$/.exec(line);
    if (note) {
      const list = notes.get(note[1]!) ?? [];
      list.push(note[2]!);
      notes.set(note[1]!, list);
      continue;
    }
    if (/^\d+ passed, \d+ failed/.test(line)) summary = line;
  }
  return { cases, summary, unknown };
}

/** Judges one case of one pairing; throws (fails the subtest) or skips it. */
function judgeCase(t: TestContext, clientImpl: Implementation, serverImpl: Implementation, testCase: string, report: CaseReport | undefined): void {
  const clientLimit = limitation(clientImpl, "client", testCase);
  const serverLimit = limitation(serverImpl, "server", testCase);
  if (serverLimit) t.diagnostic(`known limitation of the ${serverImpl} server: ${serverLimit}`);
  if (!report) assert.fail(`the ${clientImpl} client did not report ${testCase} (no PASS, FAIL or SKIP line)`);
  for (const note of report.notes) t.diagnostic(`${clientImpl} client noted: ${note}`);
  switch (report.outcome) {
    case "PASS": {
      const acceptedProbe = report.notes.some((n) => n.startsWith("server-accepted-uncompressed-probe"));
      if (acceptedProbe && !serverLimit) {
        assert.fail(
          `the ${serverImpl} server accepted an uncompressed request with expect_compressed=true; it must fail it ` +
            "with INVALID_ARGUMENT (and it lists no limitation for this case)",
        );
      }
      return;
    }
    case "SKIP": {
      const listed = clientLimit
        ? `${clientImpl}-client limitation: ${clientLimit}`
        : serverLimit
          ? `${serverImpl}-server limitation: ${serverLimit}`
          : null;
      if (!listed) {
        assert.fail(
          `the ${clientImpl} client skipped ${testCase} ("${report.detail}"), but limitations.json lists it for neither ` +
            `${clientImpl}-client nor ${serverImpl}-server`,
        );
      }
      t.skip(`${report.detail} [${listed}]`);
      return;
    }
    case "FAIL":
      if (serverLimit) {
        t.skip(`${serverImpl}-server limitation: ${serverLimit} [the ${clientImpl} client reported: ${report.detail}]`);
        return;
      }
      assert.fail(`${clientImpl} client → ${serverImpl} server, ${testCase}: ${report.detail || "failed"}`);
  }
}

let stubs: PythonStubsResult | null = null;
let certificates: TestCertificates | null = null;

before(async () => {
  stubs = await pythonStubs();
  if (!stubs.ok) console.log(`# the grpcio pairings are skipped: ${stubs.reason}`);
  certificates = await makeTestCertificates();
});

after(async () => {
  await Promise.all([...children].map((child) => stop(child, 2000)));
  cleanupPythonStubs();
  certificates?.cleanup();
});

for (const security of ["plaintext", "tls"] as const) {
  describe(security, () => {
    for (const [clientImpl, serverImpl] of PAIRINGS) {
      test(`${clientImpl} client → ${serverImpl} server (${security})`, { timeout: PAIRING_TIMEOUT_MS }, async (t) => {
        const usesPython = clientImpl === "grpcio" || serverImpl === "grpcio";
        if (usesPython && !stubs?.ok) {
          t.skip(stubs && !stubs.ok ? stubs.reason : "the Python stubs were not generated");
          return;
        }
        const serverProgram = PROGRAMS[serverImpl].server;
        const clientProgram = PROGRAMS[clientImpl].client;
        for (const program of [serverProgram, clientProgram]) {
          assert.ok(existsSync(program.file), `${program.file} does not exist`);
        }
        const env: NodeJS.ProcessEnv = stubs?.ok ? { ...stubs.stubs.env } : { ...process.env };

        const serverArgs: string[] = [];
        const clientArgs: string[] = [];
        if (security === "tls") {
          assert.ok(certificates, "no test certificates");
          serverArgs.push("--use_tls=true", `--tls_cert_file=${certificates.serverCertFile}`, `--tls_key_file=${certificates.serverKeyFile}`);
          clientArgs.push("--use_tls=true", "--use_test_ca=true", `--ca_file=${certificates.caFile}`, `--server_host_override=${TEST_SERVER_NAME}`);
        }

        const server = await startServer(serverProgram, serverArgs, env);
        let run: ClientRun;
        let serverExitedOnStdinClose = false;
        try {
          run = await runClient(
            clientProgram,
            ["--server_host=127.0.0.1", `--server_port=${server.port}`, "--test_case=all", ...clientArgs],
            env,
          );
        } finally {
          serverExitedOnStdinClose = await stop(server.child);
        }

        const { cases, summary, unknown } = parseClientOutput(run.stdout);
        const failedCases = [...cases.values()].some((c) => c.outcome === "FAIL");
        if (failedCases || run.code !== 0 || !summary) {
          t.diagnostic(`client output:\n${run.stdout}${run.stderr}`);
          t.diagnostic(`server output:\n${server.output()}`);
        }
        for (const testCase of INTEROP_CASE_NAMES) {
          await t.test(testCase, (st) => judgeCase(st, clientImpl, serverImpl, testCase, cases.get(testCase)));
        }
        await t.test("client run", () => {
          assert.ok(!run.timedOut, `the client did not finish within ${CLIENT_RUN_MS} ms`);
          assert.deepEqual(unknown, [], `the client reported cases this matrix does not know: ${unknown.join(", ")}`);
          assert.ok(summary, `the client printed no "N passed, N failed" line`);
          if (failedCases) assert.ok(run.code !== 0, `the client exited with ${run.code} though a case failed`);
          else assert.equal(run.code, 0, `the client exited with ${run.code} though no case failed`);
        });
        await t.test("server exits when stdin closes", () => {
          assert.ok(serverExitedOnStdinClose, "the server was still running 5 s after its stdin closed (killed)");
        });
      });
    }
  });
}
