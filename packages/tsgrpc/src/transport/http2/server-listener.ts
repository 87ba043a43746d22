import * as http2 from "node:http2";
import type * as net from "node:net";
import type { Http2Tuning, ServerConnectionOptions, ServerTlsOptions, ServerTransportStream, SocketAddress } from "../transport.js";
import { formatAddress } from "../transport.js";
import { ServerStreamAdapter, type SessionInfo } from "./server-stream.js";
import { useCertificateFetcher } from "./certificate-fetcher.js";
import { ServerCertificates } from "./server-certificates.js";
import { isLocalPeer, sessionSecurity } from "./peer-security.js";
import { DEFAULT_SERVER_MAX_CONCURRENT_STREAMS, sessionSettings } from "./settings.js";
import { ServerSessionManager } from "./server-session.js";

export interface ServerListenerOptions extends Http2Tuning, ServerConnectionOptions {
  tls?: ServerTlsOptions;
  /** Local credentials: plaintext, and only peers on this machine (loopback TCP, unix sockets) are served. */
  localOnly?: boolean;
  onStream(stream: ServerTransportStream): void;
}

/** One listening socket and the HTTP/2 sessions accepted on it. */
export interface ServerListener {
  /** The address actually bound (port 0 resolved). */
  readonly address: SocketAddress;
  /** Streams open on this listener's sessions. */
  readonly openSessions: number;
  /** Stop accepting connections; existing sessions live on. */
  stopAccepting(): Promise<void>;
  /** GOAWAY to every session: no new streams, running ones may finish. */
  drainSessions(): void;
  /** Tear down every session now (open streams end as if the connection was lost). */
  destroySessions(): void;
}

export async function listenHttp2(address: SocketAddress, options: ServerListenerOptions): Promise<ServerListener> {
  const listener = new Http2ServerListener(options);
  await listener.listen(address);
  return listener;
}

class Http2ServerListener implements ServerListener {
  address: SocketAddress = { host: "", port: 0 };
  private readonly server: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Peer, security and manager (keepalive, ping policing, max idle and age) of each session. */
  private readonly sessionInfo = new WeakMap<http2.Http2Session, SessionInfo>();
  /** Raw TCP sockets: a gracefully closed session leaves its socket half-open until the peer ends it. */
  private readonly sockets = new Set<net.Socket>();
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: ServerListenerOptions) {
    const settings = sessionSettings({ ...options, maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_SERVER_MAX_CONCURRENT_STREAMS });
    // The first key/certificate pair, the others by SNI, and rotation (server-certificates.ts).
    const certificates = options.tls ? new ServerCertificates(options.tls) : undefined;
    this.server = options.tls && certificates
      ? http2.createSecureServer({
          settings,
          ...certificates.serverOptions(options.tls, options.tls.fetchConfig !== undefined),
          requestCert: options.tls.requestClientCert ?? false,
          rejectUnauthorized: options.tls.rejectUnauthorized ?? false,
          ALPNProtocols: ["h2"],
          allowHTTP1: false,
          handshakeTimeout: handshakeTimeoutMs(options),
        })
      : http2.createServer({ settings });
    if (options.tls?.fetchConfig && certificates) useCertificateFetcher(this.server as http2.Http2SecureServer, options.tls, certificates);
    // Small frames (a response head, one message, trailers) must leave at once, not wait for Nagle. This is
    // the raw TCP socket: a session's own socket is a proxy that refuses such calls.
    this.server.on("connection", (socket: net.Socket) => socket.setNoDelay(true));
    this.server.on("connection", (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.server.on("session", (session: http2.ServerHttp2Session) => this.track(session));
    this.server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      const session = stream.session;
      const info = (session && this.sessionInfo.get(session)) ?? this.describeSession(session);
      options.onStream(new ServerStreamAdapter(stream, headers, rawHeaders, info));
    });
    // A bad client must never take the server down: session and socket errors end only that session.
    this.server.on("sessionError", () => undefined);
    this.server.on("tlsClientError", () => undefined);
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  listen(address: SocketAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once("error", onError);
      const done = (): void => {
        this.server.off("error", onError);
        this.server.on("error", () => undefined);
        this.address = boundAddress(this.server.address(), address);
        resolve();
      };
      if ("path" in address) this.server.listen(address.abstract ? `\0${address.path}` : address.path, done);
      else this.server.listen({ host: address.host, port: address.port, ipv6Only: address.host === "::" ? false : undefined }, done);
    });
  }

  stopAccepting(): Promise<void> {
    this.closed ??= new Promise((resolve) =>
      this.server.close(() => {
        clearTimeout(this.lingerTimer);
        resolve();
      }),
    );
    return this.closed;
  }

  drainSessions(): void {
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  destroySessions(): void {
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
    // A session closed gracefully ends its socket and then waits for the peer to end its side; a peer
    // that never does (dead or misbehaving) would keep the server from closing. Frames on their way get
    // a moment to leave, then whatever sockets are left are dropped.
    if (this.sockets.size > 0 && this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, SOCKET_LINGER_MS);
      this.lingerTimer.unref();
    }
  }

  /** The peer and security of a session's streams: worked out once per connection, not per call. */
  private describeSession(session: http2.Http2Session | undefined, activity?: ServerSessionManager): SessionInfo {
    return {
      peer: peerOf(session, this.address),
      security: sessionSecurity(session, this.options.localOnly === true),
      activity,
    };
  }

  /**
   * A peer that opens a connection and never sends the HTTP/2 preface and its SETTINGS would hold a socket
   * for as long as it likes. The timer starts when the session exists (at accept for plaintext, after the
   * TLS handshake, which node bounds with the same timeout, for TLS) and ends with the client's SETTINGS.
   */
  private armHandshakeTimeout(session: http2.ServerHttp2Session): void {
    const timer = setTimeout(() => session.destroy(), handshakeTimeoutMs(this.options));
    timer.unref();
    const done = (): void => clearTimeout(timer);
    session.once("remoteSettings", done);
    session.once("close", done);
  }

  private track(session: http2.ServerHttp2Session): void {
    if (this.options.localOnly && !isLocalPeer(session.socket, "path" in this.address)) {
      session.destroy();
      return;
    }
    answerWithTheRightCode(session);
    this.sessions.add(session);
    this.armHandshakeTimeout(session);
    this.sessionInfo.set(session, this.describeSession(session, new ServerSessionManager(session, this.options)));
    session.on("error", () => undefined);
    session.once("close", () => this.sessions.delete(session));
    try {
      session.setLocalWindowSize(this.options.connectionWindowSize ?? 8 * 1024 * 1024);
    } catch {
      // The default window still works.
    }
  }
}

/**
 * gRPC Core waits 120 s for a handshake. 20 s is what a gRPC client itself gives a connection attempt
 * (the minimum connect timeout of the connection backoff spec) before it abandons it and retries, so a
 * handshake slower than that serves no client, while a socket per silent peer is held six times shorter.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 20_000;

function handshakeTimeoutMs(options: ServerConnectionOptions): number {
  const ms = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return Number.isFinite(ms) ? ms : 2 ** 31 - 1;
}

/** nghttp2 library error codes (nghttp2.h) that node reports as session errors. */
const NGHTTP2_ERR_PROTO = -505;
const NGHTTP2_ERR_FLOW_CONTROL = -524;
const NGHTTP2_ERR_FLOODED = -904;
const { NGHTTP2_PROTOCOL_ERROR, NGHTTP2_FLOW_CONTROL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/**
 * Some connection errors nghttp2 leaves to node (SETTINGS_ENABLE_PUSH=2, INITIAL_WINDOW_SIZE > 2^31-1,
 * MAX_FRAME_SIZE < 16384, WINDOW_UPDATE of 0, HEADERS on an even stream, RST_STREAM on an idle stream,
 * PUSH_PROMISE from a client, connection window overflow, SETTINGS floods). node then destroys the
 * session with an error and no code, which sends GOAWAY(INTERNAL_ERROR); RFC 9113 asks for
 * PROTOCOL_ERROR or FLOW_CONTROL_ERROR, and a flood is the peer's fault (ENHANCE_YOUR_CALM). node calls
 * the session's own `destroy(error)`, so that one session's `destroy` supplies the code from the
 * nghttp2 error number when none is given. docs/http2-limitations.md lists what still comes out wrong.
 */
function answerWithTheRightCode(session: http2.ServerHttp2Session): void {
  const destroy = session.destroy.bind(session);
  session.destroy = (error?: Error | null, code?: number): void => {
    destroy(error ?? undefined, code ?? (error == null ? undefined : goawayCodeFor(error)));
  };
}

function goawayCodeFor(error: Error): number | undefined {
  switch ((error as Error & { errno?: number }).errno) {
    case NGHTTP2_ERR_PROTO:
      return NGHTTP2_PROTOCOL_ERROR;
    case NGHTTP2_ERR_FLOW_CONTROL:
      return NGHTTP2_FLOW_CONTROL_ERROR;
    case NGHTTP2_ERR_FLOODED:
      return NGHTTP2_ENHANCE_YOUR_CALM;
    default:
      return undefined;
  }
}

/** How long forceShutdown lets the last frames of a connection leave before dropping its socket. */
const SOCKET_LINGER_MS = 250;

function boundAddress(bound: string | net.AddressInfo | null, requested: SocketAddress): SocketAddress {
  if (bound && typeof bound === "object") return { host: bound.address, port: bound.port };
  return requested;
}

function peerOf(session: http2.Http2Session | undefined, local: SocketAddress): string {
  const socket = session?.socket;
  if (socket?.remoteAddress && socket.remotePort !== undefined) {
    return formatAddress({ host: socket.remoteAddress.replace(/^::ffff:/, ""), port: socket.remotePort });
  }
  return "path" in local ? formatAddress(local) : "unknown";
}
