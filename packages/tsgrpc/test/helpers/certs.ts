import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Throwaway certificates for TLS tests, made with the `openssl` command at test time (nothing is
 * committed). EC P-256 keys: quick to make, and every TLS stack takes them.
 *
 *   const certs = await makeCertFactory();          // a fresh temporary folder
 *   const ca = await certs.ca("test-ca");
 *   const server = await certs.leaf(ca, { commonName: "server", altNames: ["DNS:localhost", "IP:127.0.0.1"] });
 *   ...
 *   certs.cleanup();
 */

const run = promisify(execFile);

export interface Pem {
  /** PEM private key (PKCS#8). */
  readonly key: string;
  /** PEM certificate. */
  readonly cert: string;
}

export interface CertificateAuthority extends Pem {
  readonly name: string;
}

export interface LeafOptions {
  commonName: string;
  /** subjectAltName entries in openssl syntax: "DNS:localhost", "IP:127.0.0.1", "URI:spiffe://a/b", "email:a@b". */
  altNames?: string[];
  /** extendedKeyUsage; default "serverAuth,clientAuth" (usable on either side). */
  usage?: string;
  /** More subject attributes before CN, e.g. "/O=tsgrpc". */
  subjectPrefix?: string;
}

export interface CertFactory {
  readonly dir: string;
  /** A self-signed CA. */
  ca(name: string): Promise<CertificateAuthority>;
  /** A certificate signed by `ca`. */
  leaf(ca: CertificateAuthority, options: LeafOptions): Promise<Pem>;
  /** Removes the folder; safe to call twice. */
  cleanup(): void;
}

/** Why certificates cannot be made here (no openssl), or undefined when they can. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "the openssl CLI is not installed, so no test certificates can be made";
  }
}

export async function makeCertFactory(): Promise<CertFactory> {
  const dir = mkdtempSync(join(tmpdir(), "tsgrpc-certs-"));
  const file = (name: string): string => join(dir, name);
  const read = (name: string): string => readFileSync(file(name), "utf8");
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  let serial = Date.now();
  let count = 0;
  const unique = (name: string): string => `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${++count}`;

  return {
    dir,
    async ca(name) {
      const base = unique(name);
      await openssl([
        "req", "-x509", ...ecKey, "-keyout", file(`${base}.key`), "-out", file(`${base}.pem`), "-days", "2",
        "-subj", `/O=tsgrpc tests/CN=${name}`,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      return { name: base, key: read(`${base}.key`), cert: read(`${base}.pem`) };
    },
    async leaf(ca, options) {
      const base = unique(options.commonName);
      const ext = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        `extendedKeyUsage=${options.usage ?? "serverAuth,clientAuth"}`,
      ];
      if (options.altNames && options.altNames.length > 0) ext.push(`subjectAltName=${options.altNames.join(",")}`);
      writeFileSync(file(`${base}.ext`), `${ext.join("\n")}\n`);
      await openssl([
        "req", "-new", ...ecKey, "-keyout", file(`${base}.key`), "-out", file(`${base}.csr`),
        "-subj", `${options.subjectPrefix ?? ""}/CN=${options.commonName}`,
      ]);
      await openssl([
        "x509", "-req", "-in", file(`${base}.csr`), "-CA", file(`${ca.name}.pem`), "-CAkey", file(`${ca.name}.key`),
        "-set_serial", `0x${(serial++).toString(16)}`, "-days", "2", "-sha256",
        "-extfile", file(`${base}.ext`), "-out", file(`${base}.pem`),
      ]);
      return { key: read(`${base}.key`), cert: read(`${base}.pem`) };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}
