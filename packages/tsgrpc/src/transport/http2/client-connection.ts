import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { OutgoingHeaders } from "../../protocol/metadata-headers.js";
import type {
  ClientConnection,
  ClientConnectionEvents,
  ClientStreamListener,
  ClientTlsOptions,
  ClientTransportStream,
  ConnectionState,
  Http2Tuning,
  SocketAddress,
} from "../transport.js";
import { ClientStreamAdapter } from "./client-stream.js";
import { DEFAULT_CONNECTION_WINDOW, sessionSettings } from "./settings.js";

export interface ClientConnectionOptions extends Http2Tuning {
  address: SocketAddress;
  /** Present for TLS; absent for plaintext (h2c with prior knowledge). */
  tls?: ClientTlsOptions;
  /** How long the TCP+TLS+HTTP/2 handshake may take. */
  connectTimeoutMs: number;
  events: ClientConnectionEvents;
}

/** Opens an HTTP/2 session to one address and reports its life to the channel above. */
export function connectHttp2(options: ClientConnectionOptions): ClientConnection {
  return new Http2ClientConnection(options);
}

class Http2ClientConnection implements ClientConnection {
  readonly address: SocketAddress;
  state: ConnectionState = "connecting";
  private readonly session: http2.ClientHttp2Session;
  private readonly events: ClientConnectionEvents;
  private connectTimer: NodeJS.Timeout | undefined;
  private streams = 0;

  constructor(options: ClientConnectionOptions) {
    this.address = options.address;
    this.events = options.events;
    const authority = authorityOf(options.address, options.tls !== undefined);
    let socket: net.Socket | undefined;
    this.session = http2.connect(authority, {
      settings: sessionSettings(options),
      maxSessionMemory: 64,
      createConnection: () => (socket = openSocket(options.address, options.tls)),
    });
    // When the socket goes, node closes the open streams with CANCEL before the session reports
    // anything; marking the connection closed first lets those calls end UNAVAILABLE, not CANCELLED.
    // (Registered after node's own listeners, so node has finished its part when these run.)
    let socketError: Error | undefined;
    socket?.once("close", () => this.onSessionClosed(socketError));
    // A TLS socket that fails (e.g. the server rejects our certificate) is not destroyed by node, and the
    // session then waits for it forever: destroy it, keeping the reason for the status details.
    socket?.on("error", (err: Error) => {
      socketError ??= err;
      socket?.destroy();
    });
    // Ready once the server's SETTINGS arrive, not at TCP connect ("connect"): a port that accepts but
    // does not speak HTTP/2 must count as a failed connection (and the connect timeout must cover it).
    this.session.once("remoteSettings", () => this.onConnect(options));
    this.session.once("goaway", () => this.drain());
    this.session.once("close", () => this.onSessionClosed(undefined));
    this.session.on("error", (err: Error) => this.onSessionClosed(err));
    this.connectTimer = setTimeout(() => {
      this.onSessionClosed(new Error(`connection to ${authority} timed out after ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    this.connectTimer.unref();
  }

  get activeStreams(): number {
    return this.streams;
  }

  get peerMaxHeaderListSize(): number {
    const size = this.session.remoteSettings.maxHeaderListSize;
    return size === undefined || size >= 0xffffffff ? Infinity : size;
  }

  openStream(headers: OutgoingHeaders, listener: ClientStreamListener): ClientTransportStream {
    // node closes a session by itself in some cases (e.g. after a frame it could not send) without a
    // GOAWAY from the peer: treat that as draining so the channel moves to a new connection.
    if (this.state === "ready" && (this.session.closed || this.session.destroyed)) this.drain();
    if (this.state !== "ready") throw new Error(`connection is ${this.state}`);
    // Aborting this signal is how node resets a stream with CANCEL without first ending it (see reset).
    const canceller = new AbortController();
    const stream = this.session.request(headers, { endStream: false, signal: canceller.signal });
    this.streams++;
    return new ClientStreamAdapter(stream, listener, canceller, () => {
      this.streams--;
      if (this.streams === 0 && this.state === "draining") this.session.close();
    });
  }

  close(): void {
    if (this.state === "closed") return;
    this.drain();
    this.session.close();
  }

  destroy(): void {
    this.onSessionClosed(undefined);
  }

  private onConnect(options: ClientConnectionOptions): void {
    clearTimeout(this.connectTimer);
    if (this.state !== "connecting") return;
    if (options.tls && (this.session.socket as tls.TLSSocket).alpnProtocol !== "h2") {
      this.onSessionClosed(new Error("server did not negotiate HTTP/2 (ALPN h2)"));
      return;
    }
    const windowSize = options.connectionWindowSize ?? DEFAULT_CONNECTION_WINDOW;
    try {
      this.session.setLocalWindowSize(windowSize);
    } catch {
      // Older peers may reject a window update this early; the default window still works.
    }
    this.state = "ready";
    this.events.onReady();
  }

  private drain(): void {
    if (this.state === "closed" || this.state === "draining") return;
    const wasReady = this.state === "ready";
    this.state = "draining";
    if (wasReady) this.events.onDraining();
    if (this.streams === 0) this.session.close();
  }

  private onSessionClosed(error: Error | undefined): void {
    clearTimeout(this.connectTimer);
    if (this.state === "closed") return;
    this.state = "closed";
    if (!this.session.destroyed) this.session.destroy();
    this.events.onClosed(error);
  }
}

function authorityOf(address: SocketAddress, secure: boolean): string {
  const scheme = secure ? "https" : "http";
  if ("path" in address) return `${scheme}://localhost`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

function openSocket(address: SocketAddress, tlsOptions: ClientTlsOptions | undefined): net.Socket {
  const target: net.NetConnectOpts = "path" in address
    ? { path: address.abstract ? `\0${address.path}` : address.path }
    : { host: address.host, port: address.port };
  if (!tlsOptions) {
    const socket = net.connect(target);
    socket.setNoDelay(true);
    return socket;
  }
  const socket = tls.connect({
    ...target,
    ALPNProtocols: ["h2"],
    ca: tlsOptions.ca,
    cert: tlsOptions.cert,
    key: tlsOptions.key,
    servername: tlsOptions.servername ?? ("host" in target && !net.isIP(target.host ?? "") ? target.host : undefined),
  });
  socket.setNoDelay(true);
  return socket;
}
