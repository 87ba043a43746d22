import * as http2 from "node:http2";
import { addAbortSignal } from "node:stream";
import type { ClientStreamListener, ClientTransportStream } from "../transport.js";

const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_CANCEL } = http2.constants;

/** Presents a node ClientHttp2Stream as a ClientTransportStream, forwarding its events in wire order. */
export class ClientStreamAdapter implements ClientTransportStream {
  private error: Error | undefined;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    listener: ClientStreamListener,
    onGone: () => void,
  ) {
    stream.on("response", (headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number, rawHeaders: string[]) => {
      listener.onHeaders(headers, rawHeaders, (flags & NGHTTP2_FLAG_END_STREAM) !== 0);
    });
    stream.on("trailers", (trailers: http2.IncomingHttpHeaders, _flags: number, rawTrailers: string[]) => listener.onTrailers(trailers, rawTrailers));
    stream.on("data", (chunk: Buffer) => listener.onData(chunk));
    stream.on("end", () => listener.onEnd());
    stream.on("drain", () => listener.onDrain());
    // Errors also arrive as 'close' with a code; keeping the listener stops node treating them as uncaught.
    stream.on("error", (err: Error) => {
      this.error ??= err;
    });
    stream.on("close", () => {
      onGone();
      listener.onClose(stream.rstCode ?? 0, this.error);
    });
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
