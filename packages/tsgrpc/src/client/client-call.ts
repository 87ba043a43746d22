import { Code } from "../core/code.js";
import { onDeadline, type Deadline } from "../core/deadline.js";
import { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { Status } from "../core/status.js";
import { acceptEncodingHeader, getCompressor } from "../protocol/compression.js";
import { buildRequestHeaders, isGrpcContentType, statusFromTrailers, type IncomingHeaders } from "../protocol/headers.js";
import { MessageReader } from "../protocol/message-reader.js";
import { MessageWriter } from "../protocol/message-writer.js";
import { metadataFromRawHeaders } from "../protocol/metadata-headers.js";
import { codeFromHttpStatus, codeFromRstStream, Http2ErrorCode } from "../protocol/status-mapping.js";
import { formatAddress, type ClientConnection, type ClientStreamListener, type ClientTransportStream } from "../transport/transport.js";
import type { CallHost, ChannelCall, PendingPick } from "./call-host.js";

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
  private drainWaiters: Array<() => void> = [];
  private reader: MessageReader | undefined;
  private readonly writer: MessageWriter;
  /** Status from trailers, delivered once every message before it has been read. */
  private trailerStatus: Status | undefined;
  private disarmDeadline: () => void = noop;
  private withdrawPick: () => void = noop;
  private readonly onAbort = (): void => this.cancel(new RpcError(Code.CANCELLED, "call cancelled by the caller"));

  constructor(
    private readonly host: CallHost,
    readonly path: string,
    private readonly options: ClientCallOptions,
    private readonly listener: CallListener,
  ) {
    const encoding = options.compression ?? host.defaultCompression;
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
    const acceptEncoding = headers["grpc-accept-encoding"];
    this.host.notePeerAcceptEncoding(acceptEncoding === undefined ? undefined : String(acceptEncoding));
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
    if (this.trailerStatus) this.finish(this.trailerStatus);
    else this.finish({ code: Code.UNKNOWN, details: "server ended the stream without a grpc-status", metadata: new Metadata() });
  }

  onDrain(): void {
    this.flushDrainWaiters();
  }

  onClose(rstCode: number, error: Error | undefined): void {
    if (this.finished) return;
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

  private open(connection: ClientConnection): void {
    if (this.finished) return;
    this.withdrawPick = noop;
    this.connection = connection;
    const deadline = this.options.deadline;
    const headers = buildRequestHeaders({
      path: this.path,
      authority: this.host.authority,
      scheme: this.host.scheme,
      timeoutMs: deadline === Infinity ? undefined : Math.max(deadline - Date.now(), 0),
      metadata: this.options.metadata,
      encoding: this.writer.encoding,
      acceptEncoding: acceptEncodingHeader(),
      userAgent: this.host.userAgent,
    });
    try {
      this.stream = connection.openStream(headers, this);
    } catch (err) {
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

function statusOf(error: RpcError): Status {
  return { code: error.code, details: error.details, metadata: error.metadata };
}

/** Errors that mean the connection, not just this stream, is gone. */
function isConnectionError(error: Error | undefined): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === "ERR_HTTP2_SESSION_ERROR" || code === "ECONNRESET" || code === "EPIPE" || code === "ERR_HTTP2_GOAWAY_SESSION";
}

function noop(): void {}
