import type { ClientTlsOptions } from "../transport/transport.js";
import { CallCredentials } from "./call-credentials.js";

/**
 * How a channel secures its connections (reference: `grpc.ChannelCredentials`), plus call credentials
 * composed into it. Made by `ChannelCredentials.insecure()`, `.tls(...)`, `.local()` and `.compose(...)`.
 */
export interface ChannelCredentials {
  /** TLS settings for the transport; undefined for plaintext. */
  readonly tls: ClientTlsOptions | undefined;
  /** Local credentials: plaintext, but only to this machine (loopback TCP or a unix socket). */
  readonly localOnly?: boolean;
  /** Call credentials applied to every call of the channel (`composite_channel_credentials`). */
  readonly callCredentials?: CallCredentials;
}

export interface TlsChannelOptions {
  /** PEM root certificates to trust; the system's roots when omitted. */
  rootCerts?: string | Buffer;
  /** PEM private key and certificate chain, for mutual TLS. */
  privateKey?: string | Buffer;
  certChain?: string | Buffer;
}

export const ChannelCredentials = {
  /**
   * Plaintext HTTP/2 (h2c with prior knowledge), which every gRPC implementation speaks
   * (reference: `grpc.experimental.insecure_channel_credentials`). Call credentials are never sent on it.
   */
  insecure(): ChannelCredentials {
    return { tls: undefined };
  },

  /**
   * TLS with ALPN h2 (reference: `ssl_channel_credentials`). Without `rootCerts` the system's trusted CAs
   * are used; `privateKey` with `certChain` is the client certificate for mutual TLS. The server name
   * checked is the target's host, or the channel option `serverNameOverride`.
   */
  tls(options: TlsChannelOptions = {}): ChannelCredentials {
    if ((options.privateKey === undefined) !== (options.certChain === undefined)) {
      throw new Error("mutual TLS needs both privateKey and certChain");
    }
    return { tls: { ca: options.rootCerts, key: options.privateKey, cert: options.certChain } };
  },

  /**
   * Local credentials (reference: `local_channel_credentials`): plaintext, for a server on the same machine
   * over loopback TCP or a unix socket. Connections to any other address are refused. Unlike insecure
   * credentials, call credentials may be sent, since the traffic never leaves the machine.
   */
  local(): ChannelCredentials {
    return { tls: undefined, localOnly: true };
  },

  /**
   * Channel credentials with call credentials that every call of the channel carries, before any the call
   * adds itself (reference: `composite_channel_credentials`).
   */
  compose(channelCredentials: ChannelCredentials, ...callCredentials: CallCredentials[]): ChannelCredentials {
    if (callCredentials.length === 0) throw new TypeError("compose needs at least one CallCredentials");
    const existing = channelCredentials.callCredentials;
    return {
      ...channelCredentials,
      callCredentials: CallCredentials.compose(...(existing ? [existing] : []), ...callCredentials),
    };
  },
};

/** Whether call credentials may travel on a channel made with `credentials` (TLS or local). */
export function allowsCallCredentials(credentials: ChannelCredentials | undefined): boolean {
  return credentials !== undefined && (credentials.tls !== undefined || credentials.localOnly === true);
}

/**
 * The name a TLS channel checks the server certificate against, and sends as SNI: the host of the
 * channel's authority (as gRPC does), not the address it resolved to. Undefined for an IP literal: the
 * certificate is then checked against that IP, and no SNI is sent (RFC 6066 forbids IPs there).
 */
export function tlsServerName(authority: string): string | undefined {
  let host = authority;
  if (host.startsWith("[")) return undefined; // "[v6]:port"
  const colon = host.lastIndexOf(":");
  if (colon >= 0) {
    if (host.indexOf(":") !== colon) return undefined; // a bare IPv6 address
    host = host.slice(0, colon);
  }
  if (host === "" || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return undefined;
  return host;
}
