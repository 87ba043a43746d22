import * as http2 from "node:http2";
import type * as net from "node:net";
import type { Http2Tuning, ServerTlsOptions, ServerTransportStream, SocketAddress } from "../transport.js";
import { formatAddress } from "../transport.js";
import { ServerStreamAdapter } from "./server-stream.js";
import { sessionSettings } from "./settings.js";

export interface ServerListenerOptions extends Http2Tuning {
  tls?: ServerTlsOptions;
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
  private closed: Promise<void> | undefined;

  constructor(private readonly options: ServerListenerOptions) {
    const settings = sessionSettings(options);
    this.server = options.tls
      ? http2.createSecureServer({
          settings,
          key: options.tls.keyCertPairs.map((p) => p.key),
          cert: options.tls.keyCertPairs.map((p) => p.cert),
          ca: options.tls.ca,
          requestCert: options.tls.requestClientCert ?? false,
          rejectUnauthorized: options.tls.rejectUnauthorized ?? false,
          ALPNProtocols: ["h2"],
          allowHTTP1: false,
        })
      : http2.createServer({ settings });
    this.server.on("session", (session: http2.ServerHttp2Session) => this.track(session));
    this.server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      options.onStream(new ServerStreamAdapter(stream, headers, rawHeaders, peerOf(stream.session, this.address)));
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
    this.closed ??= new Promise((resolve) => this.server.close(() => resolve()));
    return this.closed;
  }

  drainSessions(): void {
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  destroySessions(): void {
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
  }

  private track(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.on("error", () => undefined);
    session.once("close", () => this.sessions.delete(session));
    try {
      session.setLocalWindowSize(this.options.connectionWindowSize ?? 8 * 1024 * 1024);
    } catch {
      // The default window still works.
    }
  }
}

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
