import { readFileSync } from "node:fs";
import * as tls from "node:tls";

/**
 * The roots a TLS channel trusts when its credentials name none, found the way gRPC's core library finds
 * them: the file in GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, else the operating system's CA bundle, else the
 * roots compiled into Node. The operating system's bundle includes CAs an administrator added, which
 * Node's own list does not.
 *
 * Building a secure context from a system bundle takes tens of milliseconds (it holds ~150 CAs), so the
 * contexts are made once and reused for every connection (per client certificate, for mutual TLS).
 */

/** Where Linux distributions and BSDs keep the system CA bundle (as gRPC core searches them). */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Alpine
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/pki/tls/cacert.pem", // OpenELEC
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
  "/etc/ssl/cert.pem", // Alpine, macOS, FreeBSD
];

let roots: { path: string | undefined; pem: string | undefined } | undefined;
const contexts = new Map<string, tls.SecureContext>();

/**
 * A secure context with the default roots and, for mutual TLS, the client's key and certificate; undefined
 * when neither the variable nor a system bundle gives roots (Node's own then apply).
 */
export function defaultRootsContext(cert: string | Buffer | undefined, key: string | Buffer | undefined): tls.SecureContext | undefined {
  const pem = defaultRootsPem();
  if (pem === undefined) return undefined;
  const cacheKey = `${String(cert ?? "")}\0${String(key ?? "")}`;
  let context = contexts.get(cacheKey);
  if (context === undefined) {
    context = tls.createSecureContext({ ca: pem, cert, key });
    // A handful of client certificates at most in practice; a bound keeps a misuse from growing forever.
    if (contexts.size >= 16) contexts.clear();
    contexts.set(cacheKey, context);
  }
  return context;
}

function defaultRootsPem(): string | undefined {
  const override = process.env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] || undefined;
  if (roots !== undefined && roots.path === override) return roots.pem;
  contexts.clear();
  roots = { path: override, pem: override !== undefined ? read(override) : firstReadable(SYSTEM_BUNDLES) };
  return roots.pem;
}

function firstReadable(paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const pem = read(path);
    if (pem !== undefined) return pem;
  }
  return undefined;
}

function read(path: string): string | undefined {
  try {
    const pem = readFileSync(path, "utf8");
    return pem.includes("-----BEGIN CERTIFICATE-----") ? pem : undefined;
  } catch {
    return undefined;
  }
}
