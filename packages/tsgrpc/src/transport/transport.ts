import type { IncomingHeaders } from "../protocol/headers.js";
import type { OutgoingHeaders } from "../protocol/metadata-headers.js";

/**
 * What the layers above see of HTTP/2: streams that carry a head, DATA chunks and trailers. No gRPC
 * semantics live here, and nothing above this folder imports node:http2, node:net or node:tls.
 */

/** Where to connect or listen: a TCP host and port, or a unix socket path. */
export type SocketAddress =
  | { readonly host: string; readonly port: number }
  | { readonly path: string; readonly abstract?: boolean };

/** "ipv4:127.0.0.1:50051", "ipv6:[::1]:50051" or "unix:/tmp/sock": the peer string gRPC uses. */
export function formatAddress(address: SocketAddress): string {
  if ("path" in address) return address.abstract ? `unix-abstract:${address.path}` : `unix:${address.path}`;
  return address.host.includes(":") ? `ipv6:[${address.host}]:${address.port}` : `ipv4:${address.host}:${address.port}`;
}

/** TLS settings for a client connection; how they are built is the credentials' business. */
export interface ClientTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name checked against the server certificate (and sent as SNI). */
  servername?: string;
}

/** TLS settings for a listening server. */
export interface ServerTlsOptions {
  keyCertPairs: Array<{ key: string | Buffer; cert: string | Buffer }>;
  ca?: string | Buffer | Array<string | Buffer>;
  requestClientCert?: boolean;
  rejectUnauthorized?: boolean;
  /**
   * Certificate rotation: asked before each new connection's TLS handshake. A config it returns is used
   * for that connection and the later ones; undefined (or a throw) keeps the current one. Connections
   * already open keep the certificates they were made with.
   */
  fetchConfig?: () => ServerTlsConfig | undefined | Promise<ServerTlsConfig | undefined>;
}

/** The certificates of a TLS server, as a certificate fetcher returns them. */
export interface ServerTlsConfig {
  keyCertPairs: Array<{ key: string | Buffer; cert: string | Buffer }>;
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * How a server connection is secured, as plain data for the layers above (they build the gRPC auth
 * context from it). "local": plaintext on a loopback or unix socket, accepted by local credentials.
 */
export interface TransportSecurity {
  readonly type: "tls" | "local" | "insecure";
  /** TLS: the negotiated protocol version, e.g. "TLSv1.3". */
  readonly tlsVersion?: string;
  /** TLS: whether the session was resumed from an earlier one. */
  readonly sessionReused?: boolean;
  /** TLS: the client's certificate, only when it presented one and it verified against the trusted roots. */
  readonly peerCertificate?: PeerCertificate;
}

/** What the layers above may know of a verified peer certificate. */
export interface PeerCertificate {
  /** The subject in RFC 2253 order, e.g. "CN=client,O=tsgrpc". */
  readonly subject: string;
  /** The subject's common name(s), usually one. */
  readonly commonNames: readonly string[];
  /** Subject alternative names in certificate order; IP addresses as text. */
  readonly subjectAltNames: ReadonlyArray<{ readonly type: "DNS" | "IP" | "URI" | "email" | "other"; readonly value: string }>;
  /** The certificate in PEM. */
  readonly pem: string;
}

/** HTTP/2 tuning shared by both sides. */
export interface Http2Tuning {
  /** Per-stream flow-control window we advertise (bytes). */
  initialWindowSize?: number;
  /** Connection-level window we advertise (bytes). */
  connectionWindowSize?: number;
  maxConcurrentStreams?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we accept (bytes). */
  maxHeaderListSize?: number;
  /**
   * The largest metadata (header list) accepted, in bytes: gRPC's name for SETTINGS_MAX_HEADER_LIST_SIZE
   * (reference: `grpc.max_metadata_size`, default 8 KiB). Wins over `maxHeaderListSize` when both are set.
   */
  maxMetadataSize?: number;
}

/** Client keepalive (gRFC A8): HTTP/2 PINGs that detect a connection that silently died. */
export interface ClientKeepaliveOptions {
  /**
   * Send a PING after this long without reading anything from the server (default: never). gRPC Core
   * raises values under 10 s to 10 s; tsgrpc takes them as given (like grpc-js), which tests rely on.
   * Servers refuse pings more often than they permit (5 min by default) with GOAWAY "too_many_pings".
   */
  keepaliveTimeMs?: number;
  /** Close the connection when a PING is not acknowledged within this long (default 20 s). */
  keepaliveTimeoutMs?: number;
  /** Also ping while no call is open (default false: a connection without calls is not pinged). */
  keepalivePermitWithoutCalls?: boolean;
}

/** Server connection management (gRFC A9) and keepalive enforcement (gRFC A8). */
export interface ServerConnectionOptions {
  /** The server pings each connection after this long without a ping (default 2 h). */
  keepaliveTimeMs?: number;
  /** A connection whose ping is not acknowledged within this long is closed (default 20 s). */
  keepaliveTimeoutMs?: number;
  /**
   * The shortest interval between client pings the server permits (default 5 min). A client that pings
   * more often, more than twice in a row, gets GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
   */
  keepaliveMinTimeMs?: number;
  /** Permit client pings while the connection has no call (default false: then 2 h is the minimum). */
  keepalivePermitWithoutCalls?: boolean;
  /** Close a connection that has had no call for this long, gracefully (default: never). */
  maxConnectionIdleMs?: number;
  /** Close a connection once it is this old (±10% jitter), gracefully (default: never). */
  maxConnectionAgeMs?: number;
  /** After a max-age GOAWAY, how long calls still running may go on before the connection is cut (default: no limit). */
  maxConnectionAgeGraceMs?: number;
  /**
   * A connection must complete its handshake within this long or it is closed (default 20 s): the TLS
   * handshake if any, then the HTTP/2 preface and the client's SETTINGS (reference:
   * `grpc.server_handshake_timeout_ms`).
   */
  handshakeTimeoutMs?: number;
}

/** What a GOAWAY frame said. */
export interface GoawayInfo {
  /** The HTTP/2 error code (0 = NO_ERROR, 11 = ENHANCE_YOUR_CALM, ...). */
  errorCode: number;
  lastStreamId: number;
  /** The opaque debug data as text ("too_many_pings", "max_age", ...). */
  debugData: string;
}

/** Events of one stream, delivered upward in wire order. */
export interface StreamListener {
  onData(chunk: Buffer): void;
  /** The peer half-closed (END_STREAM) and every DATA chunk has been delivered. */
  onEnd(): void;
  /** Writes may resume after write() returned false. */
  onDrain(): void;
  /** The stream is gone. `rstCode` is the RST_STREAM code (0 when it closed normally). */
  onClose(rstCode: number, error: Error | undefined): void;
}

export interface ClientStreamListener extends StreamListener {
  /** Response head; `endStream` marks a Trailers-Only response. */
  onHeaders(headers: IncomingHeaders, rawHeaders: string[], endStream: boolean): void;
  onTrailers(trailers: IncomingHeaders, rawTrailers: string[]): void;
}

/** The sending half and control of a stream, common to both sides. */
export interface TransportStream {
  /** Queues bytes; false means "wait for onDrain" (HTTP/2 flow control is pushing back). */
  write(data: Uint8Array): boolean;
  /** Stop reading: the unread window is not returned to the peer, so it slows down. */
  pause(): void;
  resume(): void;
  /** RST_STREAM with `code`. */
  reset(code: number): void;
}

export interface ClientTransportStream extends TransportStream {
  /** END_STREAM: the client has sent its last message. */
  end(): void;
}

export interface ServerTransportStream extends TransportStream {
  readonly headers: IncomingHeaders;
  readonly rawHeaders: string[];
  /** The peer as "ipv4:host:port" etc. */
  readonly peer: string;
  /** How the stream's connection is secured; undefined means plaintext ("insecure"). */
  readonly security?: TransportSecurity;
  /** The stream was reset or its connection lost before it finished. */
  readonly closed: boolean;
  setListener(listener: StreamListener): void;
  /** Response head; must come before any write. */
  sendHeaders(headers: OutgoingHeaders): void;
  /**
   * Ends the response with trailers; without a prior head this sends a Trailers-Only response. A peer
   * still sending once the trailers are out gets RST_STREAM with `resetCode`: NO_ERROR (the default) when
   * the response is simply complete, CANCEL when the server gave up on the call (deadline, shutdown).
   */
  sendTrailers(trailers: OutgoingHeaders, resetCode?: number): void;
  /** An HTTP-level error response (e.g. 415), for requests that are not gRPC at all. */
  respondHttpError(status: number, message: string): void;
}

export type ConnectionState = "connecting" | "ready" | "draining" | "closed";

/** One client connection (an HTTP/2 session) to one address. */
export interface ClientConnection {
  readonly address: SocketAddress;
  readonly state: ConnectionState;
  /** Opens a stream for a call. Throws if the connection cannot take new streams. */
  openStream(headers: OutgoingHeaders, listener: ClientStreamListener): ClientTransportStream;
  /** Open streams right now. */
  readonly activeStreams: number;
  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE: request heads above it would be refused (Infinity if unset). */
  readonly peerMaxHeaderListSize: number;
  /** Graceful close: running streams finish, no new ones. */
  close(): void;
  /** Immediate teardown. */
  destroy(): void;
}

export interface ClientConnectionEvents {
  onReady(): void;
  /**
   * No new streams here any more, existing ones may finish: the peer sent GOAWAY (`goaway`), or the
   * connection stopped taking streams by itself.
   */
  onDraining(goaway: GoawayInfo | undefined): void;
  /** The connection is gone (failed to connect, or lost). */
  onClosed(error: Error | undefined): void;
}
