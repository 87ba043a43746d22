// The gRPC interop test client on tsgrpc (grpc/grpc doc/interop-test-descriptions.md, "Client").
//   npm run interop:client -- --server_host=127.0.0.1 --server_port=10000 --test_case=all
// Prints "PASS <case>" or "FAIL <case>: <reason>" per case (after any "NOTE <case>: <text>" lines about
// the server), then "<n> passed, <m> failed"; the exit status is 0 only when every case passed (2 for a
// bad command line).
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { ChannelCredentials, createChannel, createClient, type ChannelOptions, type Client } from "tsgrpc";
import { CaseFailure, TEST_CASES, type CaseContext } from "./cases.js";
import { CompressionTap } from "./compression-tap.js";
import { checkPort, flagBoolean, flagInteger, flagString, parseFlags, usageText, UsageError, type FlagSpec } from "./flags.js";
import { TestService, UnimplementedService } from "./gen/grpc/testing/test_pb.js";

const FLAGS: Record<string, FlagSpec> = {
  server_host: { kind: "string", help: "server to connect to (default localhost)" },
  server_port: { kind: "integer", help: "server port (required)" },
  test_case: { kind: "string", help: "case name, comma-separated names, or all (default all)" },
  use_tls: { kind: "boolean", help: "connect with TLS (ALPN h2; the certificate is always verified)" },
  use_test_ca: { kind: "boolean", help: "trust the test CA instead of the system roots (needs --ca_file)" },
  ca_file: { kind: "string", help: "PEM root certificate(s) to trust with --use_tls" },
  server_host_override: {
    kind: "string",
    help: "name to verify in the server certificate and to send as :authority (with --use_test_ca: foo.test.google.fr)",
  },
  case_timeout_seconds: { kind: "integer", help: "deadline of each case (default 20)" },
  // Accepted for command-line compatibility with the standard harness; the cases that use them
  // (compute_engine_creds, jwt_token_creds, oauth2_auth_token, per_rpc_creds) are not implemented.
  default_service_account: { kind: "string", help: "(accepted, unused: no auth test cases)" },
  oauth_scope: { kind: "string", help: "(accepted, unused: no auth test cases)" },
  service_account_key_file: { kind: "string", help: "(accepted, unused: no auth test cases)" },
  help: { kind: "boolean", help: "print this text and the case names" },
};
const USAGE = `${usageText("interop client", FLAGS)}\ncases: ${[...TEST_CASES.keys()].join(", ")}`;

/** The name the standard test certificate (server1.pem) is issued for; the usual default with the test CA. */
const TEST_CA_HOST_OVERRIDE = "foo.test.google.fr";
const DEFAULT_CASE_TIMEOUT_S = 20;
/** A case whose calls all hit their deadline still gets this long to report before it is failed anyway. */
const WATCHDOG_SLACK_MS = 3000;

interface ClientArgs {
  target: string;
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  cases: string[];
  caseTimeoutMs: number;
}

function parseCommandLine(argv: readonly string[]): ClientArgs {
  const flags = parseFlags(argv, FLAGS);
  if (flagBoolean(flags, "help")) {
    console.log(USAGE);
    process.exit(0);
  }
  const host = flagString(flags, "server_host") ?? "localhost";
  if (host === "") throw new UsageError("--server_host must not be empty");
  const port = checkPort("server_port", flagInteger(flags, "server_port"), false);
  const target = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;

  const useTls = flagBoolean(flags, "use_tls");
  const useTestCa = flagBoolean(flags, "use_test_ca");
  const caFile = flagString(flags, "ca_file");
  let credentials = ChannelCredentials.insecure();
  if (useTls) {
    if (useTestCa && caFile === undefined) {
      throw new UsageError("--use_test_ca=true needs --ca_file=PATH: this client bundles no copy of the test CA (ca.pem)");
    }
    credentials = ChannelCredentials.tls(caFile === undefined ? {} : { rootCerts: readPem(caFile) });
  } else if (useTestCa || caFile !== undefined) {
    throw new UsageError("--use_test_ca and --ca_file need --use_tls=true");
  }
  const override = flagString(flags, "server_host_override") ?? (useTls && useTestCa ? TEST_CA_HOST_OVERRIDE : undefined);
  const channelOptions: ChannelOptions = override === undefined || override === "" ? {} : { serverNameOverride: override };

  const named = (flagString(flags, "test_case") ?? "all").split(",").map((n) => n.trim()).filter((n) => n !== "");
  const cases = named.includes("all") ? [...TEST_CASES.keys()] : named;
  const unknown = cases.filter((name) => !TEST_CASES.has(name));
  if (unknown.length > 0) throw new UsageError(`unknown test case ${unknown.join(", ")} (cases: ${[...TEST_CASES.keys()].join(", ")}, all)`);
  if (cases.length === 0) throw new UsageError("--test_case names no case");

  const timeoutS = flagInteger(flags, "case_timeout_seconds") ?? DEFAULT_CASE_TIMEOUT_S;
  if (timeoutS === 0) throw new UsageError("--case_timeout_seconds must be at least 1");
  return { target, credentials, channelOptions, cases, caseTimeoutMs: timeoutS * 1000 };
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read --ca_file ${path}: ${(err as Error).message}`);
  }
}

/** Why a case failed, on one line. */
function reasonOf(err: unknown): string {
  return oneLine(err instanceof CaseFailure ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

/** Status messages may hold line breaks; the output is one line per report. */
function oneLine(text: string): string {
  return text.replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

/** Runs one case under its deadline, plus a watchdog in case something waits outside any call. */
async function runCase(name: string, base: Omit<CaseContext, "deadline" | "note">, timeoutMs: number): Promise<string | undefined> {
  const testCase = TEST_CASES.get(name)!;
  let watchdog: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => reject(new CaseFailure(`no result within ${timeoutMs + WATCHDOG_SLACK_MS} ms`)), timeoutMs + WATCHDOG_SLACK_MS);
  });
  try {
    const note = (text: string): void => console.log(`NOTE ${name}: ${oneLine(text)}`);
    await Promise.race([testCase({ ...base, deadline: Date.now() + timeoutMs, note }), timedOut]);
    return undefined;
  } catch (err) {
    return reasonOf(err);
  } finally {
    clearTimeout(watchdog);
  }
}

async function main(): Promise<void> {
  let args: ClientArgs;
  try {
    args = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`interop client: ${err.message}\n${USAGE}`);
    process.exit(2);
  }

  const tap = new CompressionTap().install();
  const channel = createChannel(args.target, args.credentials, args.channelOptions);
  const base = {
    client: createClient(tap.wrap(TestService), channel) as unknown as Client<typeof TestService>,
    unimplementedClient: createClient(tap.wrap(UnimplementedService), channel) as unknown as Client<typeof UnimplementedService>,
    channel,
    tap,
  };
  let passed = 0;
  let failed = 0;
  for (const name of args.cases) {
    const failure = await runCase(name, base, args.caseTimeoutMs);
    if (failure === undefined) {
      passed++;
      console.log(`PASS ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${name}: ${failure}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  channel.close();
  process.exitCode = failed === 0 ? 0 : 1;
  // Everything is closed; should a stuck call still hold the event loop, do not wait for it.
  setTimeout(() => process.exit(), 2000).unref();
}

await main();
