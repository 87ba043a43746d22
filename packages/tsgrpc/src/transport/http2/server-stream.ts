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

/** Presents a node ServerHttp2Stream as a ServerTransportStream. */
export class ServerStreamAdapter implements ServerTransportStream {
  private headersSent = false;
  private finished = false;
  private error: Error | undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    readonly headers: IncomingHeaders,
    readonly rawHeaders: string[],
    readonly peer: string,
    readonly security?: TransportSecurity,
    /** Told whenever HEADERS or DATA go out (the connection's ping policing wants to know). */
    private readonly onSend?: () => void,
  ) {
    stream.on("error", (err: Error) => {
      this.error ??= err;
    });
  }

  get closed(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  setListener(listener: StreamListener): void {
    const stream = this.stream;
    stream.on("data", (chunk: Buffer) => listener.onData(chunk));
    stream.on("end", () => {
      // node also ends the readable side when the peer resets the stream or the connection is lost.
      // That is a cancellation, not END_STREAM: onClose reports it, and a handler reading its requests
      // must not mistake a cancelled upload for a complete one.
      if (stream.aborted || (stream.closed && stream.rstCode !== NGHTTP2_NO_ERROR)) return;
      listener.onEnd();
    });
    stream.on("drain", () => listener.onDrain());
    stream.on("close", () => listener.onClose(stream.rstCode ?? 0, this.error));
  }

  sendHeaders(headers: OutgoingHeaders): void {
    if (this.headersSent || this.closed) return;
    this.headersSent = true;
    this.onSend?.();
    this.stream.respond(headers, RESPOND_WITH_TRAILERS);
  }

  write(data: Uint8Array): boolean {
    if (this.closed) return true;
    this.onSend?.();
    return this.stream.write(data);
  }

  sendTrailers(trailers: OutgoingHeaders): void {
    if (this.finished || this.closed) return;
    this.finished = true;
    this.onSend?.();
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(trailers, RESPOND_TRAILERS_ONLY);
      this.resetIfStillReading();
      return;
    }
    this.stream.once("wantTrailers", () => {
      if (this.closed) return;
      this.stream.sendTrailers(trailers);
      // 'wantTrailers' fires while nghttp2 is assembling frames: a RST_STREAM submitted right here wins
      // and the trailers are dropped, so the client would never see the status. Reset on the next turn,
      // once the trailers are on the wire.
      if (!this.stream.readableEnded) setImmediate(() => this.resetIfStillReading());
    });
    this.stream.end();
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
   * The response is complete but the client is still sending: RST_STREAM(NO_ERROR) tells it to stop
   * (RFC 9113 §8.1). It must follow the trailers, never overtake them.
   */
  private resetIfStillReading(): void {
    if (!this.stream.readableEnded && !this.closed) this.stream.close(NGHTTP2_NO_ERROR);
  }
}
