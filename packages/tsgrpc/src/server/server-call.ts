import { Code } from "../core/code.js";
import { onDeadline, type Deadline } from "../core/deadline.js";
import { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { Status } from "../core/status.js";
import { metadataFromRawHeaders } from "../protocol/metadata-headers.js";
import { getCompressor, parseAcceptEncoding, acceptEncodingHeader, type Compressor } from "../protocol/compression.js";
import { buildResponseHeaders, buildTrailers, buildTrailersOnly } from "../protocol/headers.js";
import { MessageReader } from "../protocol/message-reader.js";
import { MessageWriter } from "../protocol/message-writer.js";
import { Http2ErrorCode } from "../protocol/status-mapping.js";
import { MessageQueue } from "../internal/message-queue.js";
import type { ServerTransportStream, StreamListener } from "../transport/transport.js";
import type { ReceiveBudget } from "./receive-budget.js";

/** Limits and defaults a call inherits from its server. */
export interface ServerCallConfig {
  maxReceiveMessageLength: number;
  maxSendMessageLength: number;
  /** Compression for responses when the client accepts it; undefined = identity. */
  defaultCompression: string | undefined;
  /** The server-wide count of bytes held for incomplete request messages. */
  receiveBudget?: ReceiveBudget;
}

/** What the server read from the request head before the call started. */
export interface ServerCallHead {
  path: string;
  /** node's raw request header list; parsed into Metadata only when someone asks for it. */
  rawHeaders: readonly string[];
  deadline: Deadline;
  /** Request message encoding (already checked to be supported). */
  requestEncoding: string | undefined;
  acceptEncoding: string | undefined;
}

/**
 * The server's one streaming primitive: message payloads in, payloads out, one final status. The four
 * handler kinds are thin adapters over it. It owns the deadline, cancellation and the response head.
 */
export class ServerCall implements StreamListener {
  private requestMetadata: Metadata | undefined;
  private readonly rawHeaders: readonly string[];
  readonly deadline: Deadline;
  readonly path: string;
  /** Why the call ended without the handler finishing it (cancel, deadline, shutdown, a broken request). */
  cancelReason: RpcError | undefined;
  /** How the call ended, once it has: the status sent, or the reason of a reset (server interceptors read it). */
  endStatus: Status | undefined;
  private finished = false;
  private headersSent = false;
  private initialMetadata: Metadata | undefined;
  private responseCompression: string | undefined;
  private writer: MessageWriter | undefined;
  private readonly reader: MessageReader;
  /**
   * Request payloads that arrived with the compressed flag set (see `wasCompressed`). Made with the first
   * one: a WeakSet per call would burden the garbage collector of every uncompressed call.
   */
  private compressedRequests: WeakSet<Uint8Array> | undefined;
  private requestSink: ((payload: Uint8Array) => void) | undefined;
  private requestEndSink: ((error: RpcError | undefined) => void) | undefined;
  /** Writers waiting for flow control; made on first use (most calls never wait). */
  private drainWaiters: Array<() => void> | undefined;
  private controller: AbortController | undefined;
  private endCallbacks: Array<() => void> | undefined;
  private readonly disarmDeadline: () => void;
  private readonly acceptEncodings: string | undefined;

  constructor(
    readonly stream: ServerTransportStream,
    head: ServerCallHead,
    private readonly config: ServerCallConfig,
  ) {
    this.rawHeaders = head.rawHeaders;
    this.deadline = head.deadline;
    this.path = head.path;
    this.acceptEncodings = head.acceptEncoding;
    this.responseCompression = config.defaultCompression;
    const compressor = head.requestEncoding ? getCompressor(head.requestEncoding) : undefined;
    this.reader = new MessageReader(
      config.maxReceiveMessageLength,
      compressor && this.markingDecompressed(compressor),
      (payload) => this.requestSink?.(payload),
    );
    stream.setListener(this);
    this.disarmDeadline = this.deadline === Infinity ? disarmNothing : onDeadline(this.deadline, () => {
      this.abortWith(new RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded"), true);
    });
  }

  /** Request metadata, parsed from the header list on first use: most handlers never look. */
  get metadata(): Metadata {
    return (this.requestMetadata ??= metadataFromRawHeaders(this.rawHeaders));
  }

  get peer(): string {
    return this.stream.peer;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Fires when the call is cancelled or its deadline passes; created on first use (unary calls rarely ask). */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.cancelReason && !this.controller.signal.aborted) this.controller.abort(this.cancelReason);
    return this.controller.signal;
  }

  /** Runs `callback` once the call has ended, however it ended. */
  addEndCallback(callback: () => void): void {
    if (this.finished) {
      queueMicrotask(callback);
      return;
    }
    (this.endCallbacks ??= []).push(callback);
  }

  // ---- requests -------------------------------------------------------------------------------------

  /** True when `payload` (as delivered by this call) arrived with the compressed flag set on the wire. */
  wasCompressed(payload: Uint8Array): boolean {
    return this.compressedRequests?.has(payload) ?? false;
  }

  /** The reader only decompresses flagged messages: the wrapper remembers each payload it produced. */
  private markingDecompressed(compressor: Compressor): Compressor {
    return {
      name: compressor.name,
      compress: (data) => compressor.compress(data),
      decompress: (data, maxLength) => {
        const out = compressor.decompress(data, maxLength);
        (this.compressedRequests ??= new WeakSet()).add(out);
        return out;
      },
    };
  }

  /** Collects exactly one request message (unary and server-streaming methods). */
  readSingleRequest(): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let first: Uint8Array | undefined;
      let count = 0;
      this.requestSink = (payload) => {
        count++;
        first ??= payload;
      };
      this.requestEndSink = (error) => {
        if (error) reject(error);
        else if (count !== 1) {
          reject(new RpcError(Code.UNIMPLEMENTED, `expected exactly one request message for ${this.path}, got ${count}`));
        } else resolve(first!);
      };
    });
  }

  /** Every request message as an async iterable, with backpressure onto the HTTP/2 stream. */
  readRequestStream(): MessageQueue<Uint8Array> {
    const queue = new MessageQueue<Uint8Array>(16, (pause) => (pause ? this.stream.pause() : this.stream.resume()));
    this.requestSink = (payload) => queue.push(payload);
    this.requestEndSink = (error) => (error ? queue.fail(error) : queue.end());
    return queue;
  }

  // ---- the stream's events (StreamListener) ---------------------------------------------------------

  onData(chunk: Buffer): void {
    if (this.finished) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.failRequests(RpcError.from(err, Code.INTERNAL));
    }
    this.accountBuffered();
  }

  /** Bytes of an incomplete request message this call holds, as counted in the server's budget. */
  private charged = 0;

  /** Brings the server's receive budget in step with what the reader holds (nothing once the call ended). */
  private accountBuffered(): void {
    const budget = this.config.receiveBudget;
    if (budget === undefined) return;
    const held = this.finished ? 0 : this.reader.bufferedBytes;
    if (held !== this.charged) {
      budget.adjust(held - this.charged);
      this.charged = held;
    }
  }

  /** The client half-closed: every request message has arrived. */
  onEnd(): void {
    if (this.finished) return;
    try {
      this.reader.finish();
    } catch (err) {
      this.failRequests(RpcError.from(err, Code.INTERNAL));
      return;
    }
    const sink = this.requestEndSink;
    this.requestEndSink = undefined;
    sink?.(undefined);
  }

  /** A broken request ends the whole call with that status; the handler sees the error on its stream. */
  private failRequests(error: RpcError): void {
    if (this.finished) return;
    // The call ends without the handler finishing it: its signal must fire, as for a cancel.
    this.cancelReason = error;
    const sink = this.requestEndSink;
    this.requestEndSink = undefined;
    this.requestSink = undefined;
    sink?.(error);
    this.finish({ code: error.code, details: error.details, metadata: new Metadata() });
  }

  // ---- responses ------------------------------------------------------------------------------------

  setResponseCompression(name: string | undefined): void {
    if (name !== undefined && name !== "identity" && !getCompressor(name)) {
      throw new RpcError(Code.INTERNAL, `unknown compression "${name}"`);
    }
    // The response head names the encoding, and the writer is fixed with it: a later choice cannot apply.
    if (this.headersSent || this.writer !== undefined) {
      throw new RpcError(Code.INTERNAL, "setCompression must come before the response head is sent");
    }
    this.responseCompression = name;
  }

  /** Adds to the initial metadata; an error once the head has gone out. */
  addInitialMetadata(metadata: Metadata): void {
    if (this.headersSent) throw new Error("initial metadata was already sent");
    (this.initialMetadata ??= new Metadata()).merge(metadata);
  }

  sendHeaders(): void {
    if (this.headersSent || this.finished) return;
    this.headersSent = true;
    const encoding = this.messageWriter().encoding;
    this.stream.sendHeaders(buildResponseHeaders(this.initialMetadata ?? EMPTY, encoding, acceptEncodingHeader()));
  }

  /**
   * Sends one response payload. Resolves at once while HTTP/2 flow control has room, otherwise when the
   * peer has read enough; rejects with the call's end reason if the call is over.
   */
  sendMessage(payload: Uint8Array, compress = true): Promise<void> | undefined {
    if (this.finished) return Promise.reject(this.cancelReason ?? new RpcError(Code.INTERNAL, "call already finished"));
    // Framed before the head goes out: a message over the send limit then fails the call Trailers-Only.
    const framed = this.messageWriter().frame(payload, compress);
    if (!this.headersSent) this.sendHeaders();
    if (this.stream.write(framed)) return undefined;
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** The writer for this call's responses, fixed (with its encoding) on first use. */
  private messageWriter(): MessageWriter {
    if (!this.writer) {
      const encoding = this.negotiatedEncoding();
      this.writer = new MessageWriter(this.config.maxSendMessageLength, encoding ? getCompressor(encoding) : undefined);
    }
    return this.writer;
  }

  /**
   * Ends the call with `status` (the handler's outcome). Later calls are ignored. `resetCode` is the
   * RST_STREAM code for a client still sending after the trailers (see ServerTransportStream).
   */
  finish(status: Status, resetCode?: number): void {
    if (this.finished) return;
    this.finished = true;
    this.endStatus = status;
    this.disarmDeadline();
    if (!this.headersSent && (this.initialMetadata === undefined || this.initialMetadata.size === 0)) {
      this.stream.sendTrailers(buildTrailersOnly(status, EMPTY, acceptEncodingHeader()), resetCode);
    } else {
      this.sendHeadersForFinish();
      this.stream.sendTrailers(buildTrailers(status), resetCode);
    }
    this.ended();
  }

  private sendHeadersForFinish(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.sendHeaders(buildResponseHeaders(this.initialMetadata ?? EMPTY, undefined, acceptEncodingHeader()));
  }

  private negotiatedEncoding(): string | undefined {
    const wanted = this.responseCompression;
    if (wanted === undefined || wanted === "identity") return undefined;
    return parseAcceptEncoding(this.acceptEncodings).has(wanted) ? wanted : undefined;
  }

  // ---- end of life ----------------------------------------------------------------------------------

  /**
   * Ends the call from outside the handler: deadline, server shutdown, or the peer going away.
   * With `sendStatus` the client is told the status; otherwise the stream is just reset.
   */
  abortWith(reason: RpcError, sendStatus: boolean): void {
    if (this.finished) return;
    this.cancelReason = reason;
    const sink = this.requestEndSink;
    this.requestEndSink = undefined;
    this.requestSink = undefined;
    sink?.(reason);
    if (sendStatus) {
      // The server gives up on the call: a client still sending is told so with RST_STREAM(CANCEL).
      this.finish({ code: reason.code, details: reason.details, metadata: new Metadata() }, Http2ErrorCode.CANCEL);
    } else {
      this.finished = true;
      this.endStatus = { code: reason.code, details: reason.details, metadata: new Metadata() };
      this.disarmDeadline();
      this.stream.reset(Http2ErrorCode.CANCEL);
      this.ended();
    }
    this.flushDrainWaiters();
  }

  onDrain(): void {
    this.flushDrainWaiters();
  }

  onClose(rstCode: number): void {
    if (this.finished) return;
    const detail = rstCode === Http2ErrorCode.CANCEL || rstCode === Http2ErrorCode.NO_ERROR
      ? "call cancelled by the client"
      : `stream reset by the client (HTTP/2 error ${rstCode})`;
    this.abortWith(new RpcError(Code.CANCELLED, detail), false);
  }

  private ended(): void {
    this.accountBuffered();
    if (this.cancelReason && this.controller && !this.controller.signal.aborted) {
      this.controller.abort(this.cancelReason);
    }
    const callbacks = this.endCallbacks;
    this.endCallbacks = undefined;
    if (callbacks) for (const cb of callbacks) cb();
  }

  private flushDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters === undefined || waiters.length === 0) return;
    this.drainWaiters = undefined;
    for (const w of waiters) w();
  }
}

const EMPTY = new Metadata();

/** The disarm function of a call without a deadline. */
function disarmNothing(): void {}
