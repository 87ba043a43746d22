import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import type { ServerTlsConfig } from "../transport.js";

interface PairContext {
  /** Undefined for the first pair: that one is the server's default context. */
  readonly context: tls.SecureContext | undefined;
  readonly certificate: X509Certificate | undefined;
}

/**
 * The key/certificate pairs of a TLS server, chosen per connection the way gRPC's core library does it:
 * the first pair by default, another one when the client's SNI names a host that pair's certificate
 * covers. (Node cannot put several pairs of one key type into one secure context: each key replaces the
 * one before, and the certificates no longer match them.)
 */
export class ServerCertificates {
  private pairs: PairContext[] = [];

  constructor(config: ServerTlsConfig) {
    this.pairs = buildPairs(config);
  }

  /**
   * Options for node's TLS server: the first pair, and the SNI hook that picks among the others (needed
   * with several pairs, or when rotation may bring several).
   */
  serverOptions(config: ServerTlsConfig, rotating: boolean): Pick<tls.TlsOptions, "key" | "cert" | "ca" | "SNICallback"> {
    const first = config.keyCertPairs[0]!;
    const sni = rotating || config.keyCertPairs.length > 1;
    return { key: first.key, cert: first.cert, ca: config.ca, ...(sni ? { SNICallback: this.sniCallback } : {}) };
  }

  /** Rotation: `config` serves the connections accepted from now on. Throws on unusable PEM. */
  update(server: tls.Server, config: ServerTlsConfig): void {
    const pairs = buildPairs(config);
    const first = config.keyCertPairs[0]!;
    server.setSecureContext({ key: first.key, cert: first.cert, ca: config.ca });
    this.pairs = pairs;
  }

  private readonly sniCallback = (servername: string, done: (err: Error | null, context?: tls.SecureContext) => void): void => {
    // Only a pair other than the first changes anything: the first is the server's default context.
    const match = this.pairs.findIndex((p) => p.certificate?.checkHost(servername) !== undefined);
    done(null, match > 0 ? this.pairs[match]!.context : undefined);
  };
}

function buildPairs(config: ServerTlsConfig): PairContext[] {
  if (config.keyCertPairs.length === 1) return [];
  return config.keyCertPairs.map((pair, index) => ({
    context: index === 0 ? undefined : tls.createSecureContext({ key: pair.key, cert: pair.cert, ca: config.ca }),
    certificate: leafCertificate(pair.cert),
  }));
}

/** The first certificate of a PEM chain (the one SNI is matched against). */
function leafCertificate(chain: string | Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(chain);
  } catch {
    return undefined;
  }
}
