import * as http2 from "node:http2";
import { addAbortSignal } from "node:stream";
import type { ClientStreamListener, ClientTransportStream } from "../transport.js";

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_CANCEL } = http2.constants;

/** Told when a stream is gone, so the connection can count its streams. */
export interface StreamOwner {
  streamGone(): void;
}

/**
 * The node stream's events go to module-level handlers that find their adapter through this property:
 * closures per stream and event would be garbage on every call.
 */
const ADAPTER = Symbol("tsgrpc.clientStreamAdapter");
type AdaptedStream = http2.ClientHttp2Stream & { [ADAPTER]: ClientStreamAdapter };

function onResponse(this: AdaptedStream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]): void {
  this[ADAPTER].listener.onHeaders(headers, rawHeaders, (flags & NGHTTP2_FLAG_END_STREAM) !== 0);
}

function onTrailers(this: AdaptedStream, trailers: http2.IncomingHttpHeaders, _flags: number, rawTrailers: string[]): void {
  this[ADAPTER].listener.onTrailers(trailers, rawTrailers);
}

function onData(this: AdaptedStream, chunk: Buffer): void {
  this[ADAPTER].listener.onData(chunk);
}

function onEnd(this: AdaptedStream): void {
  this[ADAPTER].listener.onEnd();
}

function onDrain(this: AdaptedStream): void {
  this[ADAPTER].listener.onDrain();
}

// Errors also arrive as 'close' with a code; keeping a listener stops node treating them as uncaught.
function onError(this: AdaptedStream, err: Error): void {
  this[ADAPTER].error ??= err;
}

function onClose(this: AdaptedStream): void {
  const adapter = this[ADAPTER];
  adapter.owner.streamGone();
  adapter.listener.onClose(this.rstCode ?? 0, adapter.error);
}

/** Presents a node ClientHttp2Stream as a ClientTransportStream, forwarding its events in wire order. */
export class ClientStreamAdapter implements ClientTransportStream {
  /** The stream's first error, reported with its close. */
  error: Error | undefined;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    readonly listener: ClientStreamListener,
    readonly owner: StreamOwner,
  ) {
    (stream as AdaptedStream)[ADAPTER] = this;
    stream.on("response", onResponse);
    stream.on("trailers", onTrailers);
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("close", onClose);
  }

  write(data: Uint8Array): boolean {
    return this.stream.write(data);
  }

  end(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  reset(code: number): void {
    if (this.stream.closed) return;
    // stream.close() first ends the writable side, so the peer would see END_STREAM (a complete request)
    // just before the RST_STREAM. Destroying the stream through an aborted signal sends RST_STREAM(CANCEL)
    // alone. The signal is made only here: a controller per stream would cost every call.
    if (code === NGHTTP2_CANCEL) {
      const canceller = new AbortController();
      addAbortSignal(canceller.signal, this.stream);
      canceller.abort();
    } else {
      this.stream.close(code);
    }
  }
}
