import * as http2 from "node:http2";
import type { IncomingHeaders } from "../../protocol/headers.js";
import type { OutgoingHeaders } from "../../protocol/metadata-headers.js";
import type { ServerTransportStream, StreamListener, TransportSecurity } from "../transport.js";

const { NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Response options, shared by every call (node copies them). gRPC has no use for the `date` header node
 * would add to each response head; node honours `sendDate`, though its type declarations omit it.
 */
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;
const RESPOND_TRAILERS_ONLY = { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions;

/** What every stream of one connection shares, worked out once per connection. */
export interface SessionInfo {
  /** The peer as "ipv4:host:port" etc. */
  readonly peer: string;
  readonly security?: TransportSecurity;
  /** Told when a stream opens and closes, and whenever HEADERS or DATA go out (ping policing wants to know). */
  readonly activity?: StreamActivity;
}

export interface StreamActivity {
  streamOpened(): void;
  streamClosed(): void;
  sent(): void;
}

/**
 * The node stream's events go to module-level handlers that find their adapter through this property:
 * closures per stream and event would be garbage on every call of a busy server.
 */
const ADAPTER = Symbol("tsgrpc.serverStreamAdapter");
type AdaptedStream = http2.ServerHttp2Stream & { [ADAPTER]: ServerStreamAdapter };

function onStreamError(this: AdaptedStream, err: Error): void {
  this[ADAPTER].error ??= err;
}

function onStreamData(this: AdaptedStream, chunk: Buffer): void {
  this[ADAPTER].listener?.onData(chunk);
}

function onStreamEnd(this: AdaptedStream): void {
  // node also ends the readable side when the peer resets the stream or the connection is lost. That is
  // a cancellation, not END_STREAM: onClose reports it, and a handler reading its requests must not
  // mistake a cancelled upload for a complete one.
  if (this.aborted || (this.closed && this.rstCode !== NGHTTP2_NO_ERROR)) return;
  this[ADAPTER].listener?.onEnd();
}

function onStreamDrain(this: AdaptedStream): void {
  this[ADAPTER].listener?.onDrain();
}

function onStreamClose(this: AdaptedStream): void {
  const adapter = this[ADAPTER];
  adapter.session.activity?.streamClosed();
  adapter.listener?.onClose(this.rstCode ?? 0, adapter.error);
}

function onWantTrailers(this: AdaptedStream): void {
  this[ADAPTER].sendPendingTrailers();
}

/** Presents a node ServerHttp2Stream as a ServerTransportStream. */
export class ServerStreamAdapter implements ServerTransportStream {
  private headersSent = false;
  private finished = false;
  /** The stream's first error, reported with its close. */
  error: Error | undefined;
  listener: StreamListener | undefined;
  private pendingTrailers: OutgoingHeaders | undefined;
  private pendingResetCode: number = NGHTTP2_NO_ERROR;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    readonly headers: IncomingHeaders,
    readonly rawHeaders: string[],
    readonly session: SessionInfo,
  ) {
    (stream as AdaptedStream)[ADAPTER] = this;
    session.activity?.streamOpened();
    stream.on("error", onStreamError);
    stream.on("close", onStreamClose);
  }

  get peer(): string {
    return this.session.peer;
  }

  get security(): TransportSecurity | undefined {
    return this.session.security;
  }

  get closed(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  setListener(listener: StreamListener): void {
    this.listener = listener;
    const stream = this.stream;
    stream.on("data", onStreamData);
    stream.on("end", onStreamEnd);
    stream.on("drain", onStreamDrain);
  }

  sendHeaders(headers: OutgoingHeaders): void {
    if (this.headersSent || this.closed) return;
    this.headersSent = true;
    this.session.activity?.sent();
    this.stream.respond(headers, RESPOND_WITH_TRAILERS);
  }

  write(data: Uint8Array): boolean {
    if (this.closed) return true;
    this.session.activity?.sent();
    return this.stream.write(data);
  }

  sendTrailers(trailers: OutgoingHeaders, resetCode: number = NGHTTP2_NO_ERROR): void {
    if (this.finished || this.closed) return;
    this.finished = true;
    this.session.activity?.sent();
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(trailers, RESPOND_TRAILERS_ONLY);
      this.resetIfStillReading(resetCode);
      return;
    }
    this.pendingTrailers = trailers;
    this.pendingResetCode = resetCode;
    this.stream.on("wantTrailers", onWantTrailers); // fires once: `once` would wrap it per call
    this.stream.end();
  }

  /** node is ready for the trailers of sendTrailers: every DATA frame is out. */
  sendPendingTrailers(): void {
    const trailers = this.pendingTrailers;
    this.pendingTrailers = undefined;
    if (trailers === undefined || this.closed) return;
    this.stream.sendTrailers(trailers);
    // 'wantTrailers' fires while nghttp2 is assembling frames: a RST_STREAM submitted right here wins
    // and the trailers are dropped, so the client would never see the status. Reset on the next turn,
    // once the trailers are on the wire.
    if (!this.stream.readableEnded) setImmediate(() => this.resetIfStillReading(this.pendingResetCode));
  }

  respondHttpError(status: number, message: string): void {
    if (this.headersSent || this.closed) return;
    this.headersSent = true;
    this.finished = true;
    this.stream.respond({ ":status": status, "content-type": "text/plain" });
    this.stream.end(message);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  reset(code: number): void {
    this.finished = true;
    if (!this.closed) this.stream.close(code);
  }

  /**
   * The response is complete but the client is still sending: RST_STREAM tells it to stop (RFC 9113
   * §8.1). It must follow the trailers, never overtake them.
   */
  private resetIfStillReading(code: number): void {
    if (!this.stream.readableEnded && !this.closed) this.stream.close(code);
  }
}
