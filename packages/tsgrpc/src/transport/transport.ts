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
  /** The stream was reset or its connection lost before it finished. */
  readonly closed: boolean;
  setListener(listener: StreamListener): void;
  /** Response head; must come before any write. */
  sendHeaders(headers: OutgoingHeaders): void;
  /** Ends the response with trailers; without a prior head this sends a Trailers-Only response. */
  sendTrailers(trailers: OutgoingHeaders): void;
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
  /** The peer sent GOAWAY: no new streams here, existing ones may finish. */
  onDraining(): void;
  /** The connection is gone (failed to connect, or lost). */
  onClosed(error: Error | undefined): void;
}
