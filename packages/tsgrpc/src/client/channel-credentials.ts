import type { ClientTlsOptions } from "../transport/transport.js";

/**
 * How a channel secures its connections (reference: `ssl_channel_credentials`). Insecure is HTTP/2 over
 * plain TCP with prior knowledge (h2c), which every gRPC implementation speaks.
 */
export interface ChannelCredentials {
  /** TLS settings for the transport; undefined for plaintext. */
  readonly tls: ClientTlsOptions | undefined;
}

export interface TlsChannelOptions {
  /** PEM root certificates to trust; the system's roots when omitted. */
  rootCerts?: string | Buffer;
  /** PEM private key and certificate chain, for mutual TLS. */
  privateKey?: string | Buffer;
  certChain?: string | Buffer;
}

export const ChannelCredentials = {
  insecure(): ChannelCredentials {
    return { tls: undefined };
  },
  tls(options: TlsChannelOptions = {}): ChannelCredentials {
    if ((options.privateKey === undefined) !== (options.certChain === undefined)) {
      throw new Error("mutual TLS needs both privateKey and certChain");
    }
    return { tls: { ca: options.rootCerts, key: options.privateKey, cert: options.certChain } };
  },
};
