// The gRPC interop test server on tsgrpc (grpc/grpc doc/interop-test-descriptions.md, "Server").
//   npm run interop:server -- --port=10000 [--use_tls=true --tls_cert_file=F --tls_key_file=F]
// Prints "interop server listening on port N" on stdout once it serves (with --port=0, N is the port
// the system picked). Stops gracefully on SIGTERM or SIGINT, and when stdin closes if
// --exit_on_stdin_close=true (so a test harness that dies cannot leave it behind).
import { readFileSync } from "node:fs";
import { createServer, ServerCredentials, type Server } from "tsgrpc";
import { checkPort, flagBoolean, flagInteger, flagString, parseFlags, usageText, UsageError, type FlagSpec } from "./flags.js";
import { TestService } from "./gen/grpc/testing/test_pb.js";
import { createTestService } from "./test-service.js";

const FLAGS: Record<string, FlagSpec> = {
  port: { kind: "integer", help: "port to listen on (required; 0 picks a free one)" },
  host: { kind: "string", help: "address to listen on (default: every interface, [::] or else 0.0.0.0)" },
  use_tls: { kind: "boolean", help: "serve TLS (needs --tls_cert_file and --tls_key_file)" },
  tls_cert_file: { kind: "string", help: "PEM certificate chain of the server (with --use_tls)" },
  tls_key_file: { kind: "string", help: "PEM private key of the server (with --use_tls)" },
  exit_on_stdin_close: { kind: "boolean", help: "stop when stdin reaches end of file (default false)" },
  help: { kind: "boolean", help: "print this text" },
};
const USAGE = usageText("interop server", FLAGS);

/** Running calls get this long after a stop signal before they are cancelled. */
const GRACE_MS = 2000;

interface ServerArgs {
  port: number;
  host: string | undefined;
  credentials: ServerCredentials;
  exitOnStdinClose: boolean;
}

function parseCommandLine(argv: readonly string[]): ServerArgs {
  const flags = parseFlags(argv, FLAGS);
  if (flagBoolean(flags, "help")) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = checkPort("port", flagInteger(flags, "port"), true);
  const certFile = flagString(flags, "tls_cert_file");
  const keyFile = flagString(flags, "tls_key_file");
  let credentials = ServerCredentials.insecure();
  if (flagBoolean(flags, "use_tls")) {
    if (certFile === undefined || keyFile === undefined) {
      throw new UsageError(
        "--use_tls=true needs --tls_cert_file and --tls_key_file: this server bundles no test certificate " +
          "(the standard one is server1.pem/server1.key from grpc/src/core/tsi/test_creds)",
      );
    }
    credentials = ServerCredentials.tls({
      keyCertPairs: [{ privateKey: readPem(keyFile, "--tls_key_file"), certChain: readPem(certFile, "--tls_cert_file") }],
    });
  } else if (certFile !== undefined || keyFile !== undefined) {
    throw new UsageError("--tls_cert_file and --tls_key_file need --use_tls=true");
  }
  const host = flagString(flags, "host");
  if (host === "") throw new UsageError("--host must not be empty");
  return { port, host, credentials, exitOnStdinClose: flagBoolean(flags, "exit_on_stdin_close") };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(err as Error).message}`);
  }
}

/** "host:port" for bind, with brackets around an IPv6 address. */
function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds `--host`, or every interface: IPv6 dual-stack where the system has IPv6, else IPv4. */
async function bind(server: Server, args: ServerArgs): Promise<number> {
  if (args.host !== undefined) return server.bind(hostPort(args.host, args.port), args.credentials);
  try {
    return await server.bind(hostPort("::", args.port), args.credentials);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "EAFNOSUPPORT" && code !== "EADDRNOTAVAIL") throw err;
    return server.bind(hostPort("0.0.0.0", args.port), args.credentials);
  }
}

async function main(): Promise<void> {
  let args: ServerArgs;
  try {
    args = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`interop server: ${err.message}\n${USAGE}`);
    process.exit(2);
  }

  const server = createServer().addService(TestService, createTestService());

  // Stop handlers go in before the port is announced: a harness may signal as soon as it reads it.
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`interop server: ${why}, shutting down`);
    // A shutdown that hangs must not keep the process alive.
    setTimeout(() => process.exit(1), GRACE_MS + 3000).unref();
    server.shutdown({ graceMs: GRACE_MS }).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`interop server: shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (args.exitOnStdinClose) {
    process.stdin.on("end", () => stop("stdin closed"));
    process.stdin.on("error", () => stop("stdin failed"));
    process.stdin.resume(); // read (and drop) whatever comes, to see the end
  }

  let port: number;
  try {
    port = await bind(server, args);
  } catch (err) {
    console.error(`interop server: cannot listen on port ${args.port}: ${(err as Error).message}`);
    await server.forceShutdown();
    process.exit(1);
  }
  if (!stopping) console.log(`interop server listening on port ${port}`);
}

await main();
