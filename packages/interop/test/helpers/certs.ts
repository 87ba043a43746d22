// Throwaway TLS certificates for interop tests, made with the `openssl` command at test time (nothing is
// committed): a CA, and a server certificate it signed for the names the interop clients use —
// DNS foo.test.google.fr (the usual --server_host_override with the test CA), *.test.google.fr,
// localhost, IP 127.0.0.1 and IP ::1. Keys are EC P-256 (quick to make; every gRPC stack takes them).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const TEST_SERVER_NAME = "foo.test.google.fr";

export interface TestCertificates {
  /** The temporary folder holding every file below. */
  readonly dir: string;
  /** PEM certificate of the CA: the client's --ca_file. */
  readonly caFile: string;
  /** PEM certificate of the server, signed by the CA: the server's --tls_cert_file. */
  readonly serverCertFile: string;
  /** PEM (PKCS#8) private key of the server: the server's --tls_key_file. */
  readonly serverKeyFile: string;
  /** Removes the folder; safe to call twice. */
  cleanup(): void;
}

/** Makes a fresh CA and server certificate (valid for two days) in a new temporary folder. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), "tsgrpc-interop-certs-"));
  const file = (name: string): string => join(dir, name);
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl([
      "req", "-x509", ...ecKey, "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2",
      "-subj", "/O=tsgrpc/CN=tsgrpc interop test CA",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl([
      "req", "-new", ...ecKey, "-keyout", file("server.key"), "-out", file("server.csr"),
      "-subj", `/O=tsgrpc/CN=${TEST_SERVER_NAME}`,
    ]);
    writeFileSync(
      file("server.ext"),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=DNS:${TEST_SERVER_NAME},DNS:*.test.google.fr,DNS:localhost,IP:127.0.0.1,IP:::1`,
        "",
      ].join("\n"),
    );
    await openssl([
      "x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
      "-set_serial", `0x${Date.now().toString(16)}`, "-days", "2", "-sha256",
      "-extfile", file("server.ext"), "-out", file("server.pem"),
    ]);
  } catch (err) {
    cleanup();
    throw err;
  }
  return { dir, caFile: file("ca.pem"), serverCertFile: file("server.pem"), serverKeyFile: file("server.key"), cleanup };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: string };
    const why = e.code === "ENOENT" ? "the openssl command is not installed" : (e.stderr?.trim() || e.message);
    throw new Error(`openssl ${args[0]} failed: ${why}`, { cause: err });
  }
}
