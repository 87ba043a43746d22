import { connectHttp2 } from "../../transport/http2/client-connection.js";
import type {
  ClientConnection,
  ClientConnectionEvents,
  ClientKeepaliveOptions,
  ClientTlsOptions,
  Http2Tuning,
  SocketAddress,
} from "../../transport/transport.js";

/** What a subchannel asks a connector for: one connection to one address. */
export interface ConnectOptions extends Http2Tuning, ClientKeepaliveOptions {
  address: SocketAddress;
  /** Present for TLS; absent for plaintext. */
  tls?: ClientTlsOptions;
  /** Local credentials: plaintext, and only to a peer on this machine. */
  localOnly?: boolean;
  /** How long the handshake may take. */
  connectTimeoutMs: number;
  events: ClientConnectionEvents;
}

/**
 * How the client layer reaches a transport: subchannels ask it for connections and see only the
 * transport's ClientConnection interface. The channel takes the HTTP/2 one by default; tests may give
 * another (in-memory-connector.ts).
 */
export interface Connector {
  connect(options: ConnectOptions): ClientConnection;
}

/** Connections over node:http2 (transport/http2): TCP, TLS or a unix socket. */
export const http2Connector: Connector = { connect: connectHttp2 };
