import { Code } from "../../core/code.js";
import { Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Status } from "../../core/status.js";
import { acceptEncodingHeader, getCompressor } from "../../protocol/compression.js";
import { buildRequestHeaders, isGrpcContentType, statusFromTrailers, type IncomingHeaders } from "../../protocol/headers.js";
import { MessageReader } from "../../protocol/message-reader.js";
import { metadataFromRawHeaders, type OutgoingHeaders } from "../../protocol/metadata-headers.js";
import { codeFromHttpStatus, codeFromRstStream, Http2ErrorCode } from "../../protocol/status-mapping.js";
import type { ClientConnection, ClientStreamListener, ClientTransportStream } from "../../transport/transport.js";
import type { ChannelCore } from "../internal/channel-core.js";
import type { AttemptListener, CallHead } from "./call-stream.js";

/**
 * The stream of one call attempt on one connection (grpc-js's subchannel-call): it writes the request
 * head, and turns what the transport reports (HTTP/2 head, DATA, trailers, resets, connection loss)
 * into gRPC: metadata, response messages and exactly one status.
 */
export class SubchannelCall implements ClientStreamListener {
  private stream: ClientTransportStream | undefined;
  private reader: MessageReader | undefined;
  /** Status from trailers, delivered once every message before it has been read. */
  private trailerStatus: Status | undefined;
  private done = false;

  constructor(
    private readonly core: ChannelCore,
    private readonly listener: AttemptListener,
    readonly connection: ClientConnection,
  ) {}

  /**
   * Opens the stream with `metadata` (the call's, with what call credentials added) and writes `frames`.
   * Returns whether more may be written at once; on failure the status has been reported.
   */
  start(head: CallHead, metadata: Metadata, frames: readonly Buffer[], halfClosed: boolean, paused: boolean): boolean {
    const connection = this.connection;
    const deadline = head.deadline;
    const headers = buildRequestHeaders({
      path: head.path,
      authority: this.core.authority,
      scheme: this.core.scheme,
      timeoutMs: deadline === Infinity ? undefined : Math.max(deadline - Date.now(), 0),
      metadata,
      encoding: head.encoding,
      acceptEncoding: acceptEncodingHeader(),
      userAgent: this.core.userAgent,
    });
    const headerSize = headerListSize(headers);
    if (headerSize > connection.peerMaxHeaderListSize) {
      // The peer would refuse the stream (and node would close the whole session): fail just this call.
      this.report(new RpcError(Code.RESOURCE_EXHAUSTED,
        `request metadata is ${headerSize} bytes, over the server's limit of ${connection.peerMaxHeaderListSize}`));
      return false;
    }
    let stream: ClientTransportStream;
    try {
      stream = connection.openStream(headers, this);
    } catch (err) {
      // Nothing was sent: if the connection just stopped taking streams, another one may take it.
      this.report(new RpcError(Code.UNAVAILABLE, `could not start the call: ${(err as Error).message}`), connection.state !== "ready");
      return false;
    }
    this.stream = stream;
    if (paused) stream.pause();
    let writable = true;
    for (const frame of frames) writable = stream.write(frame);
    if (halfClosed) stream.end();
    return writable;
  }

  write(frame: Buffer): boolean {
    return this.stream === undefined || this.done ? true : this.stream.write(frame);
  }

  end(): void {
    if (!this.done) this.stream?.end();
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  /** RST_STREAM(CANCEL); nothing is reported after it. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.stream?.reset(Http2ErrorCode.CANCEL);
  }

  // ---- transport events -----------------------------------------------------------------------------

  onHeaders(headers: IncomingHeaders, rawHeaders: string[], endStream: boolean): void {
    if (this.done) return;
    const httpStatus = Number(headers[":status"]);
    const acceptEncoding = headers["grpc-accept-encoding"];
    // Also from a Trailers-Only answer: that is how a server refusing our compression says what it takes.
    this.core.notePeerAcceptEncoding(acceptEncoding === undefined ? undefined : String(acceptEncoding));
    if (endStream) {
      // Trailers-Only: the status is in this one HEADERS frame. The server has seen the call.
      this.trailerStatus = statusFromTrailers(headers, rawHeaders, httpStatus);
      this.listener.onHeaders(EMPTY_HEADERS_MARK);
      return;
    }
    if (httpStatus !== 200) {
      this.fail(new RpcError(codeFromHttpStatus(httpStatus), `received HTTP status ${httpStatus}`));
      return;
    }
    if (!isGrpcContentType(headers["content-type"])) {
      this.fail(new RpcError(Code.UNKNOWN, `invalid content-type "${String(headers["content-type"])}" in response`));
      return;
    }
    const encoding = headers["grpc-encoding"] === undefined ? "identity" : String(headers["grpc-encoding"]);
    const compressor = encoding === "identity" ? undefined : getCompressor(encoding);
    if (encoding !== "identity" && !compressor) {
      this.fail(new RpcError(Code.INTERNAL, `response compressed with "${encoding}", which this client does not support`));
      return;
    }
    this.reader = new MessageReader(this.core.maxReceiveMessageLength, compressor, (payload) => {
      if (!this.done) this.listener.onMessage(payload);
    });
    this.listener.onHeaders(metadataFromRawHeaders(rawHeaders));
  }

  onData(chunk: Buffer): void {
    if (this.done) return;
    if (!this.reader) {
      this.fail(new RpcError(Code.INTERNAL, "received a message before the response headers"));
      return;
    }
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(RpcError.from(err, Code.INTERNAL));
    }
  }

  onTrailers(trailers: IncomingHeaders, rawTrailers: string[]): void {
    if (this.done) return;
    this.trailerStatus = statusFromTrailers(trailers, rawTrailers, 200);
  }

  onEnd(): void {
    if (this.done) return;
    try {
      this.reader?.finish();
    } catch (err) {
      this.fail(RpcError.from(err, Code.INTERNAL));
      return;
    }
    // Without a status, leave it to onClose: node also ends the readable side when the peer sends
    // RST_STREAM, and only the close event carries the reset code that decides the status.
    if (this.trailerStatus) this.finish(this.trailerStatus, false);
  }

  onDrain(): void {
    if (!this.done) this.listener.onDrain();
  }

  onClose(rstCode: number, error: Error | undefined): void {
    if (this.done) return;
    if (this.trailerStatus) {
      this.finish(this.trailerStatus, false);
    } else if (rstCode === Http2ErrorCode.REFUSED_STREAM) {
      // Refused before the server processed it (spec: safe to retry): the retrying call may replay it.
      this.report(new RpcError(codeFromRstStream(rstCode), `stream reset by the server with HTTP/2 error ${rstCode}`), true);
    } else if (this.connection.state === "closed" || isConnectionError(error)) {
      this.report(new RpcError(Code.UNAVAILABLE, `connection lost${error ? `: ${error.message}` : ""}`));
    } else if (rstCode !== Http2ErrorCode.NO_ERROR) {
      this.report(new RpcError(codeFromRstStream(rstCode), `stream reset by the server with HTTP/2 error ${rstCode}`));
    } else {
      this.finish({ code: Code.UNKNOWN, details: "stream closed without a grpc-status", metadata: new Metadata() }, false);
    }
  }

  // ---- internals ------------------------------------------------------------------------------------

  private fail(error: RpcError): void {
    this.stream?.reset(Http2ErrorCode.CANCEL);
    this.report(error);
  }

  private report(error: RpcError, unprocessed = false): void {
    this.finish({ code: error.code, details: error.details, metadata: error.metadata }, unprocessed);
  }

  private finish(status: Status, unprocessed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.listener.onStatus(status, unprocessed);
  }
}

/**
 * Reported as the headers of a Trailers-Only response, so that the layers above know the server saw the
 * call (the retrying call commits); the top layer gives the caller empty metadata for it.
 */
export const EMPTY_HEADERS_MARK = new Metadata();

/** The HTTP/2 header list size of a request head (RFC 9113 §6.5.2: name + value + 32 per field). */
function headerListSize(headers: OutgoingHeaders): number {
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) size += Buffer.byteLength(name) + Buffer.byteLength(String(v)) + 32;
  }
  return size;
}

/** Errors that mean the connection, not just this stream, is gone. */
function isConnectionError(error: Error | undefined): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === "ERR_HTTP2_SESSION_ERROR" || code === "ECONNRESET" || code === "EPIPE" || code === "ERR_HTTP2_GOAWAY_SESSION";
}
