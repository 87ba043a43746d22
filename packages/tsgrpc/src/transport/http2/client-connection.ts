import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { OutgoingHeaders } from "../../protocol/metadata-headers.js";
import type {
  ClientConnection,
  ClientConnectionEvents,
  ClientKeepaliveOptions,
  ClientStreamListener,
  ClientTlsOptions,
  ClientTransportStream,
  ConnectionState,
  GoawayInfo,
  Http2Tuning,
  SocketAddress,
} from "../transport.js";
import { ClientStreamAdapter, type StreamOwner } from "./client-stream.js";
import { DEFAULT_KEEPALIVE_TIMEOUT_MS, Keepalive } from "./keepalive.js";
import { isLocalPeer } from "./peer-security.js";
import { defaultRootsContext } from "./default-roots.js";
import { DEFAULT_CONNECTION_WINDOW, sessionSettings } from "./settings.js";

export interface ClientConnectionOptions extends Http2Tuning, ClientKeepaliveOptions {
  address: SocketAddress;
  /** Present for TLS; absent for plaintext (h2c with prior knowledge). */
  tls?: ClientTlsOptions;
  /** Local credentials: plaintext, and only to a peer on this machine (loopback TCP or a unix socket). */
  localOnly?: boolean;
  /** How long the TCP+TLS+HTTP/2 handshake may take. */
  connectTimeoutMs: number;
  events: ClientConnectionEvents;
}

/** Opens an HTTP/2 session to one address and reports its life to the channel above. */
export function connectHttp2(options: ClientConnectionOptions): ClientConnection {
  return new Http2ClientConnection(options);
}

class Http2ClientConnection implements ClientConnection, StreamOwner {
  readonly address: SocketAddress;
  state: ConnectionState = "connecting";
  private readonly session: http2.ClientHttp2Session;
  private readonly events: ClientConnectionEvents;
  private connectTimer: NodeJS.Timeout | undefined;
  private streams = 0;
  /** Present while keepalive is on (keepaliveTimeMs set) and the connection is up. */
  private keepalive: Keepalive | undefined;
  private readonly noteRead = (): void => this.keepalive?.noteRead();

  constructor(options: ClientConnectionOptions) {
    this.address = options.address;
    this.events = options.events;
    const authority = authorityOf(options.address, options.tls !== undefined);
    let socket: net.Socket | undefined;
    this.session = http2.connect(authority, {
      settings: sessionSettings(options),
      maxSessionMemory: 64,
      createConnection: () => (socket = openSocket(options.address, options.tls, options.localOnly === true)),
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
    this.session.once("goaway", (errorCode: number, lastStreamId: number, data?: Buffer) => {
      this.drain({ errorCode, lastStreamId, debugData: data?.toString("latin1") ?? "" });
    });
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
    // A keepalive asleep for want of calls wakes up; if nothing was read for a keepalive time, its
    // PING goes out before this stream's HEADERS.
    this.keepalive?.wake();
    const stream = this.session.request(headers, { endStream: false });
    this.streams++;
    if (this.keepalive) {
      stream.on("response", this.noteRead);
      stream.on("data", this.noteRead);
    }
    return new ClientStreamAdapter(stream, listener, this);
  }

  /** One of this connection's streams closed (StreamOwner). */
  streamGone(): void {
    this.streams--;
    if (this.streams === 0 && this.state === "draining") this.session.close();
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
    this.startKeepalive(options);
    this.events.onReady();
  }

  private startKeepalive(options: ClientConnectionOptions): void {
    const timeMs = options.keepaliveTimeMs;
    if (timeMs === undefined || !(timeMs > 0) || timeMs === Infinity) return;
    const timeoutMs = options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    const permitWithoutCalls = options.keepalivePermitWithoutCalls ?? false;
    this.keepalive = new Keepalive(this.session, timeMs, timeoutMs, {
      mayPing: () => permitWithoutCalls || this.streams > 0,
      onTimeout: () => this.onSessionClosed(new Error(`keepalive ping not acknowledged within ${timeoutMs} ms`), true),
    });
    // Server pings count as signs of life too.
    this.session.on("ping", this.noteRead);
    this.keepalive.start();
  }

  private drain(goaway?: GoawayInfo): void {
    if (this.state === "closed" || this.state === "draining") return;
    const wasReady = this.state === "ready";
    this.state = "draining";
    if (wasReady) this.events.onDraining(goaway);
    if (this.streams === 0) this.session.close();
  }

  /** `failStreams`: the open streams end with `error` (so calls can tell why), not a bare CANCEL. */
  private onSessionClosed(error: Error | undefined, failStreams = false): void {
    clearTimeout(this.connectTimer);
    this.keepalive?.stop();
    if (this.state === "closed") return;
    this.state = "closed";
    if (!this.session.destroyed) this.session.destroy(failStreams ? error : undefined);
    this.events.onClosed(error);
  }
}

function authorityOf(address: SocketAddress, secure: boolean): string {
  const scheme = secure ? "https" : "http";
  if ("path" in address) return `${scheme}://localhost`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

function openSocket(address: SocketAddress, tlsOptions: ClientTlsOptions | undefined, localOnly = false): net.Socket {
  const target: net.NetConnectOpts = "path" in address
    ? { path: address.abstract ? `\0${address.path}` : address.path }
    : { host: address.host, port: address.port };
  if (!tlsOptions) {
    const socket = net.connect(target);
    socket.setNoDelay(true);
    // Local credentials: a peer elsewhere is dropped before the connection can become ready (so before any
    // call, and its credentials, could go out). Destroyed on the next tick: node's HTTP/2 session sets
    // itself up on this same event and must find the socket intact.
    if (localOnly) {
      socket.once("connect", () => {
        if (isLocalPeer(socket, "path" in address)) return;
        const error = new Error(`local credentials only connect to this machine, not to ${socket.remoteAddress ?? "?"}`);
        process.nextTick(() => socket.destroy(error));
      });
    }
    return socket;
  }
  const socket = tls.connect({
    ...target,
    ALPNProtocols: ["h2"],
    ca: tlsOptions.ca,
    cert: tlsOptions.cert,
    key: tlsOptions.key,
    // No roots given: the system's (default-roots.ts), in a context made once, not per connection.
    ...(tlsOptions.ca === undefined ? { secureContext: defaultRootsContext(tlsOptions.cert, tlsOptions.key) } : {}),
    servername: tlsOptions.servername ?? ("host" in target && !net.isIP(target.host ?? "") ? target.host : undefined),
  });
  socket.setNoDelay(true);
  // A server that does not agree on h2 is refused as soon as the handshake ends instead of after the
  // connect timeout (it would never send HTTP/2 SETTINGS). On the next tick: node's HTTP/2 session sets
  // itself up on this same event and must find the socket intact.
  socket.once("secureConnect", () => {
    if (socket.alpnProtocol === "h2") return;
    process.nextTick(() => socket.destroy(new Error("server did not negotiate HTTP/2 (ALPN h2)")));
  });
  return socket;
}
