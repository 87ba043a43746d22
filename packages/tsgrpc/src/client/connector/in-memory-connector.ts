import type { IncomingHeaders } from "../../protocol/headers.js";
import type { OutgoingHeaders } from "../../protocol/metadata-headers.js";
import { Http2ErrorCode } from "../../protocol/status-mapping.js";
import type { ClientConnection, ClientStreamListener, ClientTransportStream, ConnectionState, SocketAddress } from "../../transport/transport.js";
import type { ConnectOptions, Connector } from "./connector.js";

/**
 * A transport without sockets, for fast tests of everything above the transport: a connection is a pair
 * of in-process objects, the client's ClientConnection and a server-side stream handed to `handler` for
 * each call. The server side speaks HTTP/2 in terms of heads, DATA bytes and trailers, as a raw node
 * server would; use it with the protocol helpers, or through `respondUnary`-like helpers in tests.
 */
export interface InMemoryServerStream {
  /** The request head, lowercase names, pseudo-headers included. */
  readonly headers: IncomingHeaders;
  /** Request bytes as the client wrote them (gRPC frames), and the end of the request. */
  onData: ((chunk: Uint8Array) => void) | undefined;
  onEnd: (() => void) | undefined;
  /** The client reset the stream (e.g. cancelled). */
  onReset: ((code: number) => void) | undefined;
  /** Response head; with `endStream` a Trailers-Only response. */
  respond(headers: Record<string, string>, endStream?: boolean): void;
  write(bytes: Uint8Array): void;
  /** Trailers, ending the response. */
  end(trailers: Record<string, string>): void;
  /** RST_STREAM from the server. */
  reset(code: number): void;
}

export type InMemoryHandler = (stream: InMemoryServerStream) => void;

export interface InMemoryConnector extends Connector {
  /** Every connection made so far, in order. */
  readonly connections: readonly ClientConnection[];
  /** Addresses whose connections fail at once (as a closed port would). */
  readonly refuse: Set<string>;
}

/** A connector whose connections reach `handler` in-process; `handler` runs once per call. */
export function createInMemoryConnector(handler: InMemoryHandler): InMemoryConnector {
  const connections: ClientConnection[] = [];
  const refuse = new Set<string>();
  return {
    connections,
    refuse,
    connect(options) {
      const connection = new InMemoryConnection(options, handler, refuse.has(addressKey(options.address)));
      connections.push(connection);
      return connection;
    },
  };
}

function addressKey(address: SocketAddress): string {
  return "path" in address ? address.path : `${address.host}:${address.port}`;
}

class InMemoryConnection implements ClientConnection {
  readonly address: SocketAddress;
  state: ConnectionState = "connecting";
  activeStreams = 0;
  readonly peerMaxHeaderListSize = Infinity;

  constructor(private readonly options: ConnectOptions, private readonly handler: InMemoryHandler, refused: boolean) {
    this.address = options.address;
    // Asynchronously, as a socket would: the channel sees CONNECTING first.
    setImmediate(() => {
      if (this.state !== "connecting") return;
      if (refused) this.closeNow(new Error(`connect ECONNREFUSED ${addressKey(this.address)} (in memory)`));
      else {
        this.state = "ready";
        options.events.onReady();
      }
    });
  }

  openStream(headers: OutgoingHeaders, listener: ClientStreamListener): ClientTransportStream {
    if (this.state !== "ready") throw new Error(`connection is ${this.state}`);
    this.activeStreams++;
    const pair = new StreamPair(headers, listener, () => {
      this.activeStreams--;
      if (this.activeStreams === 0 && this.state === "draining") this.closeNow(undefined);
    });
    queueMicrotask(() => this.handler(pair.server));
    return pair.client;
  }

  close(): void {
    if (this.state === "closed") return;
    const wasReady = this.state === "ready";
    this.state = "draining";
    if (wasReady) this.options.events.onDraining(undefined);
    if (this.activeStreams === 0) this.closeNow(undefined);
  }

  destroy(): void {
    this.closeNow(undefined);
  }

  private closeNow(error: Error | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.options.events.onClosed(error);
  }
}

/** The two ends of one stream; events cross on a microtask, in order, as they would over a socket. */
class StreamPair {
  readonly client: ClientTransportStream;
  readonly server: InMemoryServerStream;
  private closed = false;
  private clientEnded = false;

  constructor(headers: OutgoingHeaders, private readonly listener: ClientStreamListener, private readonly gone: () => void) {
    const incoming: IncomingHeaders = {};
    for (const [name, value] of Object.entries(headers)) incoming[name] = Array.isArray(value) ? value.map(String) : String(value);
    const later = (fn: () => void): void => queueMicrotask(() => {
      if (!this.closed) fn();
    });
    let responded = false;
    const server: InMemoryServerStream = {
      headers: incoming,
      onData: undefined,
      onEnd: undefined,
      onReset: undefined,
      respond: (head, endStream = false) => {
        responded = true;
        later(() => {
          listener.onHeaders(head, flatten(head), endStream);
          if (endStream) this.finish(Http2ErrorCode.NO_ERROR, true);
        });
      },
      write: (bytes) => later(() => listener.onData(Buffer.from(bytes))),
      end: (trailers) => {
        if (!responded) throw new Error("respond() before end(): or use respond(head, true) for Trailers-Only");
        later(() => {
          listener.onTrailers(trailers, flatten(trailers));
          this.finish(Http2ErrorCode.NO_ERROR, true);
        });
      },
      reset: (code) => later(() => this.finish(code, false)),
    };
    this.server = server;
    this.client = {
      write: (data) => {
        const copy = Buffer.from(data);
        later(() => server.onData?.(copy));
        return true;
      },
      end: () => {
        if (this.clientEnded) return;
        this.clientEnded = true;
        later(() => server.onEnd?.());
      },
      pause: () => {},
      resume: () => {},
      reset: (code) => {
        if (this.closed) return;
        queueMicrotask(() => server.onReset?.(code));
        this.finish(code, false);
      },
    };
  }

  private finish(code: number, ended: boolean): void {
    if (this.closed) return;
    if (ended) this.listener.onEnd();
    this.closed = true;
    this.gone();
    this.listener.onClose(code, undefined);
  }
}

function flatten(headers: Record<string, string>): string[] {
  return Object.entries(headers).flat();
}
