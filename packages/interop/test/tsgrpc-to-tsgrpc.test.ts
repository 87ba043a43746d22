// The tsgrpc interop client against the tsgrpc interop server, both as the separate programs another
// implementation would run (packages/interop/src/{server,client}.ts), over plaintext and over TLS with
// certificates made for the run. Also the command-line contract the cross-implementation matrix relies on.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { failOnLeakedHandles } from "../../tsgrpc/test/helpers/leak-check.js";
import { INTEROP_CASE_NAMES } from "../src/case-names.js";
import { TEST_CASES } from "../src/cases.js";
import { makeTestCertificates, TEST_SERVER_NAME, type TestCertificates } from "./helpers/certs.js";

failOnLeakedHandles();

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
// The compiled programs (dist/, built by the test command), as `npm run interop:*` runs them.
const SERVER = join(ROOT, "packages/interop/dist/src/server.js");
const CLIENT = join(ROOT, "packages/interop/dist/src/client.js");
const SERVER_START_MS = 20_000;
const CLIENT_RUN_MS = 90_000;
const TEST_TIMEOUT_MS = 120_000;

const children = new Set<ChildProcess>();

function spawnProgram(file: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [file, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.stdin!.on("error", () => {}); // closing stdin of a child that is gone
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  return child;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Ends a child the way `how` says, SIGKILL after `graceMs`; resolves with how it exited. */
async function stop(child: ChildProcess, how: "stdin" | "SIGTERM", graceMs = 10_000) {
  if (how === "stdin") child.stdin!.end();
  else child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    return await exitOf(child);
  } finally {
    clearTimeout(timer);
  }
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  output(): string;
}

async function startServer(args: string[] = [], exitOnStdinClose = true): Promise<RunningServer> {
  const flags = ["--port=0", "--host=127.0.0.1", ...(exitOnStdinClose ? ["--exit_on_stdin_close=true"] : []), ...args];
  const child = spawnProgram(SERVER, flags);
  let output = "";
  child.stderr!.on("data", (chunk: string) => (output += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`printed no port within ${SERVER_START_MS} ms`), SERVER_START_MS);
    const onExit = (code: number | null) => fail(`exited (${code}) before listening`);
    function fail(why: string): void {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.kill("SIGKILL");
      reject(new Error(`interop server ${why}:\n${output}`));
    }
    child.stdout!.on("data", (chunk: string) => {
      output += chunk;
      const match = /^interop server listening on port (\d+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", onExit);
  });
  return { child, port, output: () => output };
}

interface ClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function runClient(args: string[]): Promise<ClientRun> {
  const child = spawnProgram(CLIENT, args);
  child.stdin!.end();
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), CLIENT_RUN_MS);
  // "close" rather than "exit": by then all output has been read.
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs the client with --test_case=all against a fresh server and checks every case passed. */
async function expectAllPass(t: test.TestContext, serverArgs: string[], clientArgs: string[]): Promise<void> {
  const server = await startServer(serverArgs);
  let run: ClientRun;
  try {
    run = await runClient(["--server_host=127.0.0.1", `--server_port=${server.port}`, "--test_case=all", ...clientArgs]);
  } finally {
    const exit = await stop(server.child, "stdin");
    assert.deepEqual(exit, { code: 0, signal: null }, `the server did not exit cleanly when stdin closed:\n${server.output()}`);
  }
  const lines = run.stdout.split("\n").filter((line) => line !== "");
  if (run.code !== 0) t.diagnostic(`client output:\n${run.stdout}${run.stderr}\nserver output:\n${server.output()}`);
  for (const name of INTEROP_CASE_NAMES) {
    await t.test(name, () => {
      const report = lines.find((line) => line === `PASS ${name}` || line.startsWith(`FAIL ${name}:`));
      assert.equal(report, `PASS ${name}`, report === undefined ? `no PASS/FAIL line for ${name}` : report);
    });
  }
  assert.deepEqual(lines.filter((line) => line.startsWith("NOTE ")), [], "the tsgrpc server must refuse the compression probes");
  assert.equal(lines.at(-1), `${INTEROP_CASE_NAMES.length} passed, 0 failed`);
  assert.equal(lines.length, INTEROP_CASE_NAMES.length + 1, `unexpected output:\n${run.stdout}`);
  assert.equal(run.code, 0);
}

describe("the tsgrpc interop client against the tsgrpc interop server", () => {
  after(async () => {
    await Promise.all([...children].map((child) => stop(child, "stdin", 2000)));
  });

  test("the client's case list is the one of the descriptions", () => {
    assert.deepEqual([...TEST_CASES.keys()], INTEROP_CASE_NAMES);
  });

  test("plaintext: every case passes", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await expectAllPass(t, [], []);
  });

  describe("TLS", () => {
    let certs: TestCertificates;
    before(async () => {
      certs = await makeTestCertificates();
    });
    after(() => certs?.cleanup());

    test("with the test CA (server_host_override defaults to foo.test.google.fr): every case passes", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await expectAllPass(
        t,
        ["--use_tls=true", `--tls_cert_file=${certs.serverCertFile}`, `--tls_key_file=${certs.serverKeyFile}`],
        ["--use_tls=true", "--use_test_ca=true", `--ca_file=${certs.caFile}`],
      );
    });

    test("the server certificate is verified: another name fails the call", { timeout: TEST_TIMEOUT_MS }, async () => {
      const server = await startServer(["--use_tls=true", `--tls_cert_file=${certs.serverCertFile}`, `--tls_key_file=${certs.serverKeyFile}`]);
      try {
        const wrongName = await runClient([
          "--server_host", "127.0.0.1", "--server_port", String(server.port), "--test_case", "empty_unary",
          "--use_tls", "--ca_file", certs.caFile, "--server_host_override", "not-" + TEST_SERVER_NAME.replace(/\./g, "-") + ".example",
        ]);
        assert.match(wrongName.stdout, /^FAIL empty_unary: .*UNAVAILABLE/m);
        assert.match(wrongName.stdout, /^0 passed, 1 failed$/m);
        assert.equal(wrongName.code, 1);
        // Without --ca_file only the system roots are trusted, which do not know the test CA.
        const untrusted = await runClient(["--server_host=127.0.0.1", `--server_port=${server.port}`, "--test_case=empty_unary", "--use_tls=true"]);
        assert.match(untrusted.stdout, /^FAIL empty_unary: .*UNAVAILABLE/m);
        assert.equal(untrusted.code, 1);
      } finally {
        await stop(server.child, "stdin");
      }
    });
  });

  test("a server that cannot be reached fails the cases, not the client", { timeout: TEST_TIMEOUT_MS }, async () => {
    // Port 1 on loopback: nothing listens there, so connections are refused at once.
    const run = await runClient(["--server_host=127.0.0.1", "--server_port=1", "--test_case=empty_unary,unimplemented_service"]);
    assert.match(run.stdout, /^FAIL empty_unary: .*UNAVAILABLE/m);
    assert.match(run.stdout, /^FAIL unimplemented_service: .*UNAVAILABLE/m);
    assert.match(run.stdout, /^0 passed, 2 failed$/m);
    assert.equal(run.code, 1);
  });

  test("the server stops gracefully on SIGTERM", { timeout: TEST_TIMEOUT_MS }, async () => {
    const server = await startServer([], false);
    const exit = await stop(server.child, "SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, server.output());
  });

  test("command-line errors exit with status 2 and say what is wrong", { timeout: TEST_TIMEOUT_MS }, async () => {
    const noCa = await runClient(["--server_port=1", "--use_tls=true", "--use_test_ca=true"]);
    assert.equal(noCa.code, 2);
    assert.match(noCa.stderr, /--use_test_ca=true needs --ca_file/);

    const unknownCase = await runClient(["--server_port=1", "--test_case=empty_unary,no_such_case"]);
    assert.equal(unknownCase.code, 2);
    assert.match(unknownCase.stderr, /unknown test case no_such_case/);

    const noPort = await runClient(["--server_host=127.0.0.1"]);
    assert.equal(noPort.code, 2);
    assert.match(noPort.stderr, /--server_port is required/);

    const tlsWithoutFiles = spawnProgram(SERVER, ["--port=0", "--use_tls=true"]);
    tlsWithoutFiles.stdin!.end();
    let stderr = "";
    tlsWithoutFiles.stderr!.on("data", (chunk: string) => (stderr += chunk));
    const exit = await exitOf(tlsWithoutFiles);
    assert.equal(exit.code, 2);
    assert.match(stderr, /--use_tls=true needs --tls_cert_file and --tls_key_file/);
  });
});
