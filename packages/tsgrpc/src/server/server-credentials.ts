import type { ServerTlsConfig, ServerTlsOptions } from "../transport/transport.js";

/**
 * How a server secures a listening port (reference: `grpc.ServerCredentials`). Made by
 * `ServerCredentials.insecure()`, `.tls(...)`, `.dynamicTls(...)` and `.local()`; passed to `bind`.
 */
export interface ServerCredentials {
  /** Transport TLS settings; undefined for plaintext. */
  readonly tls: ServerTlsOptions | undefined;
  /** Local credentials: plaintext, and only clients on this machine (loopback TCP, unix sockets). */
  readonly localOnly?: boolean;
}

/** A key and the certificate chain that goes with it, both PEM. */
export interface KeyCertPair {
  privateKey: string | Buffer;
  certChain: string | Buffer;
}

/**
 * The certificates of a TLS port (reference: `ssl_server_certificate_configuration`): what a certificate
 * fetcher returns for rotation.
 */
export interface ServerCertificateConfig {
  /** One or more key/certificate pairs; the client's SNI and signature algorithms pick among them. */
  keyCertPairs: KeyCertPair[];
  /** CA certificates that client certificates must chain to. */
  rootCerts?: string | Buffer;
}

export interface TlsServerOptions extends ServerCertificateConfig {
  /**
   * Refuse clients without a valid certificate (mutual TLS); needs `rootCerts`. Without it, a server with
   * `rootCerts` asks for a client certificate but also serves clients that send none.
   */
  requireClientAuth?: boolean;
}

/**
 * Asked before each new connection's TLS handshake (reference: the `certificate_configuration_fetcher`
 * of `dynamic_ssl_server_credentials`): return a new config to use from this connection on, or undefined
 * to keep the current one. It may be async. If it throws, or returns unusable PEM, the current
 * certificates stay. Connections already open keep the certificates they were made with.
 */
export type CertificateConfigFetcher = () =>
  | ServerCertificateConfig
  | undefined
  | Promise<ServerCertificateConfig | undefined>;

export interface DynamicTlsServerOptions {
  /** The certificates to start with (reference: `initial_certificate_configuration`). */
  initialConfig: ServerCertificateConfig;
  /** Refuse clients without a valid certificate; then every config needs `rootCerts`. */
  requireClientAuth?: boolean;
}

export const ServerCredentials = {
  /** Plaintext HTTP/2 (h2c with prior knowledge), as every gRPC implementation speaks it. */
  insecure(): ServerCredentials {
    return { tls: undefined };
  },

  /** TLS with ALPN h2, optionally mutual (reference: `ssl_server_credentials`). */
  tls(options: TlsServerOptions): ServerCredentials {
    return { tls: tlsOptionsOf(options, options.requireClientAuth === true) };
  },

  /**
   * TLS whose certificates can change without a restart (reference: `dynamic_ssl_server_credentials`):
   * `fetcher` is asked before each new connection's handshake.
   */
  dynamicTls(fetcher: CertificateConfigFetcher, options: DynamicTlsServerOptions): ServerCredentials {
    if (typeof fetcher !== "function") throw new TypeError("the certificate fetcher must be a function");
    const requireClientAuth = options.requireClientAuth === true;
    const initial = tlsOptionsOf(options.initialConfig, requireClientAuth);
    // The same config object fetched again is the same transport config, so no new secure context is made.
    const converted = new WeakMap<ServerCertificateConfig, ServerTlsConfig | undefined>();
    const convert = (config: ServerCertificateConfig | undefined): ServerTlsConfig | undefined => {
      if (config === undefined || config === null || typeof config !== "object") return undefined;
      if (!converted.has(config)) converted.set(config, toTransportConfig(config));
      return converted.get(config);
    };
    const fetchConfig = (): ServerTlsConfig | undefined | Promise<ServerTlsConfig | undefined> => {
      const answer = fetcher();
      return isPromise(answer) ? answer.then(convert) : convert(answer);
    };
    // Rotation may bring client CAs the first config did not have: ask for client certificates whenever
    // mutual TLS is possible at all.
    return { tls: { ...initial, requestClientCert: initial.requestClientCert || requireClientAuth, fetchConfig } };
  },

  /**
   * Local credentials (reference: `local_server_credentials`): plaintext, and only connections from this
   * machine — loopback TCP or a unix socket — are served; others are closed at once.
   */
  local(): ServerCredentials {
    return { tls: undefined, localOnly: true };
  },
};

function tlsOptionsOf(config: ServerCertificateConfig, requireClientAuth: boolean): ServerTlsOptions {
  validate(config, requireClientAuth);
  return {
    ...toTransportConfig(config)!,
    requestClientCert: config.rootCerts !== undefined || requireClientAuth,
    rejectUnauthorized: requireClientAuth,
  };
}

function validate(config: ServerCertificateConfig, requireClientAuth: boolean): void {
  if (!config || !Array.isArray(config.keyCertPairs) || config.keyCertPairs.length === 0) {
    throw new Error("TLS server credentials need at least one key/certificate pair");
  }
  for (const pair of config.keyCertPairs) {
    if (!pair?.privateKey || !pair.certChain) throw new Error("each key/certificate pair needs privateKey and certChain");
  }
  // Otherwise node would verify clients against the system's public CAs.
  if (requireClientAuth && config.rootCerts === undefined) throw new Error("requireClientAuth needs rootCerts to verify clients with");
}

/** A fetched config in the transport's terms; an invalid one is treated as "no change". */
function toTransportConfig(config: ServerCertificateConfig | undefined): ServerTlsConfig | undefined {
  if (config === undefined || config === null) return undefined;
  if (!Array.isArray(config.keyCertPairs) || config.keyCertPairs.length === 0) return undefined;
  return {
    keyCertPairs: config.keyCertPairs.map((p) => ({ key: p.privateKey, cert: p.certChain })),
    ...(config.rootCerts !== undefined ? { ca: config.rootCerts } : {}),
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}
