import { Code } from "../core/code.js";
import { onDeadline, type Deadline } from "../core/deadline.js";
import { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { Status } from "../core/status.js";
import { acceptEncodingHeader, getCompressor } from "../protocol/compression.js";
import { buildRequestHeaders, isGrpcContentType, statusFromTrailers, type IncomingHeaders } from "../protocol/headers.js";
import { MessageReader } from "../protocol/message-reader.js";
import { MessageWriter } from "../protocol/message-writer.js";
import { metadataFromRawHeaders, type OutgoingHeaders } from "../protocol/metadata-headers.js";
import { codeFromHttpStatus, codeFromRstStream, Http2ErrorCode } from "../protocol/status-mapping.js";
import { formatAddress, type ClientConnection, type ClientStreamListener, type ClientTransportStream } from "../transport/transport.js";
import type { CallHost, ChannelCall, PendingPick } from "./call-host.js";
import { applyCallCredentials } from "./apply-call-credentials.js";
import type { CallCredentials } from "./call-credentials.js";

/** What a call reports upward, in order: headers (maybe), messages, then exactly one status. */
export interface CallListener {
  onHeaders(metadata: Metadata): void;
  onMessage(payload: Uint8Array): void;
  onStatus(status: Status): void;
}

export interface ClientCallOptions {
  deadline: Deadline;
  metadata: Metadata;
  signal: AbortSignal | undefined;
  waitForReady: boolean;
  /** Request compression; undefined takes the channel's default. */
  compression: string | undefined;
  /** Call credentials of this call (the channel's own come from the host). */
  credentials?: CallCredentials;
}

/**
 * The client's one streaming primitive: payloads out, payloads in, one final status. Unary,
 * client-streaming, server-streaming and bidi calls are thin adapters over it. It owns the deadline,
 * cancellation, the request head and the mapping of everything that can go wrong to a status.
 */
export class ClientCall implements ChannelCall, ClientStreamListener {
  private stream: ClientTransportStream | undefined;
  private connection: ClientConnection | undefined;
  private finished = false;
  private halfClosed = false;
  private paused = false;
  /** Frames written before the stream exists go out when it opens. */
  private pendingFrames: Buffer[] = [];
  /**
   * Every frame sent so far, kept until the response head arrives so that a stream the server refused
   * unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream id) can be replayed on another one.
   * Undefined once the call is committed or the frames outgrew MAX_REPLAY_BYTES.
   */
  private replay: Buffer[] | undefined = [];
  private replayBytes = 0;
  private transparentRetries = 0;
  private drainWaiters: Array<() => void> = [];
  private reader: MessageReader | undefined;
  private readonly writer: MessageWriter;
  /** Status from trailers, delivered once every message before it has been read. */
  private trailerStatus: Status | undefined;
  private disarmDeadline: () => void = noop;
  private withdrawPick: () => void = noop;
  /** Request metadata with what call credentials added; undefined until they were asked. */
  private authMetadata: Metadata | undefined;
  private readonly onAbort = (): void => this.cancel(new RpcError(Code.CANCELLED, "call cancelled by the caller"));

  constructor(
    private readonly host: CallHost,
    readonly path: string,
    private readonly options: ClientCallOptions,
    private readonly listener: CallListener,
  ) {
    const encoding = options.compression ?? host.defaultCompression;
    // Like the channel option: a misspelt name must not silently send uncompressed.
    if (encoding !== undefined && encoding !== "identity" && !getCompressor(encoding)) {
      throw new Error(`unknown compression "${encoding}"`);
    }
    const useCompression = encoding !== undefined && encoding !== "identity" && host.peerAccepts(encoding);
    this.writer = new MessageWriter(host.maxSendMessageLength, useCompression ? getCompressor(encoding) : undefined);
  }

  /** "ipv4:host:port" of the server once connected. */
  get peer(): string | undefined {
    return this.connection ? formatAddress(this.connection.address) : undefined;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  start(): void {
    this.host.track(this);
    const signal = this.options.signal;
    if (signal) {
      if (signal.aborted) {
        this.onAbort();
        return;
      }
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
    this.disarmDeadline = onDeadline(this.options.deadline, () => {
      this.cancel(new RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded"));
    });
    if (this.finished) return;
    this.pick();
  }

  /**
   * Sends one request payload. Returns undefined when the transport took it at once, or a promise that
   * resolves when more may be written (flow control). After the call ended it does nothing.
   */
  sendMessage(payload: Uint8Array, compress = true): Promise<void> | undefined {
    if (this.finished || this.halfClosed) return undefined;
    let frame: Buffer;
    try {
      frame = this.writer.frame(payload, compress);
    } catch (err) {
      this.cancel(RpcError.from(err, Code.INTERNAL));
      return undefined;
    }
    if (this.replay) {
      this.replayBytes += frame.length;
      if (this.replayBytes <= MAX_REPLAY_BYTES) this.replay.push(frame);
      else this.replay = undefined;
    }
    if (this.stream === undefined) {
      this.pendingFrames.push(frame);
      return this.whenWritable();
    }
    return this.stream.write(frame) ? undefined : this.whenWritable();
  }

  /** No more requests: END_STREAM. */
  halfClose(): void {
    if (this.halfClosed || this.finished) return;
    this.halfClosed = true;
    this.stream?.end();
  }

  /** Ends the call with `reason` (CANCELLED by default) and resets the stream with CANCEL. */
  cancel(reason: RpcError = new RpcError(Code.CANCELLED, "call cancelled")): void {
    if (this.finished) return;
    this.stream?.reset(Http2ErrorCode.CANCEL);
    this.finish(statusOf(reason));
  }

  /** Stop reading responses (the peer is slowed by HTTP/2 flow control) until `resume`. */
  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }

  // ---- transport events -----------------------------------------------------------------------------

  onHeaders(headers: IncomingHeaders, rawHeaders: string[], endStream: boolean): void {
    if (this.finished) return;
    const httpStatus = Number(headers[":status"]);
    const acceptEncoding = headers["grpc-accept-encoding"];
    // Also from a Trailers-Only answer: that is how a server refusing our compression says what it takes.
    this.host.notePeerAcceptEncoding(acceptEncoding === undefined ? undefined : String(acceptEncoding));
    // The server has seen the call: it can no longer be retried transparently.
    this.replay = undefined;
    if (endStream) {
      // Trailers-Only: the status is in this one HEADERS frame.
      this.trailerStatus = statusFromTrailers(headers, rawHeaders, httpStatus);
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
    this.reader = new MessageReader(this.host.maxReceiveMessageLength, compressor, (payload) => {
      if (!this.finished) this.listener.onMessage(payload);
    });
    this.listener.onHeaders(metadataFromRawHeaders(rawHeaders));
  }

  onData(chunk: Buffer): void {
    if (this.finished) return;
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
    if (this.finished) return;
    this.trailerStatus = statusFromTrailers(trailers, rawTrailers, 200);
  }

  onEnd(): void {
    if (this.finished) return;
    try {
      this.reader?.finish();
    } catch (err) {
      this.fail(RpcError.from(err, Code.INTERNAL));
      return;
    }
    // Without a status, leave it to onClose: node also ends the readable side when the peer sends
    // RST_STREAM, and only the close event carries the reset code that decides the status.
    if (this.trailerStatus) this.finish(this.trailerStatus);
  }

  onDrain(): void {
    this.flushDrainWaiters();
  }

  onClose(rstCode: number, error: Error | undefined): void {
    if (this.finished) return;
    if (rstCode === Http2ErrorCode.REFUSED_STREAM && this.replay && this.transparentRetries < MAX_TRANSPARENT_RETRIES) {
      // Refused before the server processed it (spec: safe to retry): replay it on a fresh stream.
      this.transparentRetries++;
      this.stream = undefined;
      this.connection = undefined;
      this.pendingFrames = [...this.replay];
      this.pick();
      return;
    }
    if (this.trailerStatus) {
      this.finish(this.trailerStatus);
    } else if (this.connection?.state === "closed" || isConnectionError(error)) {
      this.finish(statusOf(new RpcError(Code.UNAVAILABLE, `connection lost${error ? `: ${error.message}` : ""}`)));
    } else if (rstCode !== Http2ErrorCode.NO_ERROR) {
      this.finish(statusOf(new RpcError(codeFromRstStream(rstCode), `stream reset by the server with HTTP/2 error ${rstCode}`)));
    } else {
      this.finish({ code: Code.UNKNOWN, details: "stream closed without a grpc-status", metadata: new Metadata() });
    }
  }

  // ---- internals ------------------------------------------------------------------------------------

  /** A ready connection now, or wait for one (fail-fast or wait-for-ready, as the call asked). */
  private pick(): void {
    const connection = this.host.tryPick();
    if (connection) {
      this.open(connection);
      return;
    }
    const pick: PendingPick = {
      waitForReady: this.options.waitForReady,
      onPicked: (c) => this.open(c),
      onFailed: (error) => this.finish(statusOf(error)),
    };
    this.withdrawPick = this.host.waitForConnection(pick);
  }

  private open(connection: ClientConnection): void {
    if (this.finished) return;
    this.withdrawPick = noop;
    // Call credentials (apply-call-credentials.ts): asked once, after the first pick; the call goes on
    // when they answer. Meanwhile finish() "withdraws the pick", which abandons them.
    if (this.authMetadata === undefined) {
      this.authMetadata = this.options.metadata;
      const pending = applyCallCredentials(this.host, this.options.credentials, this.path, this.options.metadata, {
        onReady: (metadata) => {
          this.authMetadata = metadata;
          this.open(connection);
        },
        onFailed: (error) => this.finish(statusOf(error)),
      });
      if (pending) {
        this.withdrawPick = pending;
        return;
      }
    }
    const deadline = this.options.deadline;
    // The deadline timer fires asynchronously, so a call whose deadline has already passed must not go
    // on the wire first.
    if (deadline <= Date.now()) {
      this.cancel(new RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded"));
      return;
    }
    this.connection = connection;
    const headers = buildRequestHeaders({
      path: this.path,
      authority: this.host.authority,
      scheme: this.host.scheme,
      timeoutMs: deadline === Infinity ? undefined : Math.max(deadline - Date.now(), 0),
      metadata: this.authMetadata ?? this.options.metadata,
      encoding: this.writer.encoding,
      acceptEncoding: acceptEncodingHeader(),
      userAgent: this.host.userAgent,
    });
    const headerSize = headerListSize(headers);
    if (headerSize > connection.peerMaxHeaderListSize) {
      // The peer would refuse the stream (and node would close the whole session): fail just this call.
      this.finish(statusOf(new RpcError(Code.RESOURCE_EXHAUSTED,
        `request metadata is ${headerSize} bytes, over the server's limit of ${connection.peerMaxHeaderListSize}`)));
      return;
    }
    try {
      this.stream = connection.openStream(headers, this);
    } catch (err) {
      // Nothing was sent: if the connection just stopped taking streams, try another one.
      if (connection.state !== "ready" && this.transparentRetries < MAX_TRANSPARENT_RETRIES) {
        this.transparentRetries++;
        this.connection = undefined;
        this.pick();
        return;
      }
      this.finish(statusOf(new RpcError(Code.UNAVAILABLE, `could not start the call: ${(err as Error).message}`)));
      return;
    }
    if (this.paused) this.stream.pause();
    const frames = this.pendingFrames;
    this.pendingFrames = [];
    let writable = true;
    for (const frame of frames) writable = this.stream.write(frame);
    if (this.halfClosed) this.stream.end();
    if (writable) this.flushDrainWaiters();
  }

  private fail(error: RpcError): void {
    this.stream?.reset(Http2ErrorCode.CANCEL);
    this.finish(statusOf(error));
  }

  private finish(status: Status): void {
    if (this.finished) return;
    this.finished = true;
    this.disarmDeadline();
    this.withdrawPick();
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.host.untrack(this);
    this.pendingFrames = [];
    this.replay = undefined;
    this.flushDrainWaiters();
    // A call cut off by a passed deadline is DEADLINE_EXCEEDED, whoever cancelled it first.
    if (status.code === Code.CANCELLED && this.options.deadline <= Date.now()) {
      status = { code: Code.DEADLINE_EXCEEDED, details: "deadline exceeded", metadata: status.metadata };
    }
    this.listener.onStatus(status);
  }

  private whenWritable(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private flushDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Transparent retries of a refused stream; each one goes through the channel's pick again. */
const MAX_TRANSPARENT_RETRIES = 2;
/** Request bytes kept for a transparent retry; a call that sends more before the response head is not retried. */
const MAX_REPLAY_BYTES = 256 * 1024;

/** The HTTP/2 header list size of a request head (RFC 9113 §6.5.2: name + value + 32 per field). */
function headerListSize(headers: OutgoingHeaders): number {
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) size += Buffer.byteLength(name) + Buffer.byteLength(String(v)) + 32;
  }
  return size;
}

function statusOf(error: RpcError): Status {
  return { code: error.code, details: error.details, metadata: error.metadata };
}

/** Errors that mean the connection, not just this stream, is gone. */
function isConnectionError(error: Error | undefined): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === "ERR_HTTP2_SESSION_ERROR" || code === "ECONNRESET" || code === "EPIPE" || code === "ERR_HTTP2_GOAWAY_SESSION";
}

function noop(): void {}
