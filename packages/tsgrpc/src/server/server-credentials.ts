import type { ServerTlsOptions } from "../transport/transport.js";

/**
 * How a server secures its connections (reference: `ssl_server_credentials`). Insecure means HTTP/2
 * over plain TCP (h2c with prior knowledge), as every gRPC implementation speaks it.
 */
export interface ServerCredentials {
  /** Transport TLS settings; undefined for plaintext. */
  readonly tls: ServerTlsOptions | undefined;
}

export interface TlsServerOptions {
  keyCertPairs: Array<{ privateKey: string | Buffer; certChain: string | Buffer }>;
  /** CA certificates that client certificates must chain to. */
  rootCerts?: string | Buffer;
  /** Refuse clients without a valid certificate (mutual TLS). */
  requireClientAuth?: boolean;
}

export const ServerCredentials = {
  insecure(): ServerCredentials {
    return { tls: undefined };
  },
  tls(options: TlsServerOptions): ServerCredentials {
    if (options.keyCertPairs.length === 0) throw new Error("TLS server credentials need at least one key/certificate pair");
    return {
      tls: {
        keyCertPairs: options.keyCertPairs.map((p) => ({ key: p.privateKey, cert: p.certChain })),
        ca: options.rootCerts,
        requestClientCert: options.rootCerts !== undefined || options.requireClientAuth === true,
        rejectUnauthorized: options.requireClientAuth === true,
      },
    };
  },
};
