import { Code } from "../../core/code.js";
import { onDeadline, type Deadline } from "../../core/deadline.js";
import type { Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Status } from "../../core/status.js";
import { getCompressor } from "../../protocol/compression.js";
import { MessageWriter } from "../../protocol/message-writer.js";
import type { CallCredentials } from "../call-credentials.js";
import type { ChannelCall, ChannelCore } from "../internal/channel-core.js";
import type { CallHead, CallStreamListener } from "./call-stream.js";
import { applyMethodTimeout } from "./config-selector.js";
import { RetryingCall } from "./retrying-call.js";
import { EMPTY_HEADERS_MARK } from "./subchannel-call.js";

/** What a call reports to its adapter, in order: headers (maybe), messages, then exactly one status. */
export interface CallListener {
  onHeaders(metadata: Metadata): void;
  onMessage(payload: Uint8Array): void;
  onStatus(status: Status): void;
}

export interface ClientCallOptions {
  deadline: Deadline;
  metadata: Metadata;
  signal: AbortSignal | undefined;
  /** Undefined: the method's config decides (fail fast by default). */
  waitForReady: boolean | undefined;
  /** Request compression; undefined takes the channel's default. */
  compression: string | undefined;
  /** Call credentials of this call (the channel's own come from the channel). */
  credentials?: CallCredentials;
}

/**
 * The client's one streaming primitive, and the top of the call pipeline under the interceptors:
 * payloads out, payloads in, one final status. Unary, client-streaming, server-streaming and bidi calls
 * are thin adapters over it. It takes the method's config from the channel's config selector, owns the
 * deadline, cancellation, message framing (compression, size limit) and flow-control waits, and hands
 * the frames to the retrying call below (pipeline/retrying-call.ts).
 */
export class ClientCall implements ChannelCall, CallHead, CallStreamListener {
  readonly deadline: Deadline;
  readonly metadata: Metadata;
  readonly waitForReady: boolean;
  readonly encoding: string | undefined;
  readonly credentials: CallCredentials | undefined;
  private readonly below: RetryingCall;
  private finished = false;
  private halfClosed = false;
  private drainWaiters: Array<() => void> = [];
  private readonly writer: MessageWriter;
  private disarmDeadline: () => void = noop;
  private readonly onAbort = (): void => this.cancel(new RpcError(Code.CANCELLED, "call cancelled by the caller"));

  constructor(
    private readonly core: ChannelCore,
    readonly path: string,
    private readonly options: ClientCallOptions,
    private readonly listener: CallListener,
  ) {
    const config = core.configSelector.select(path);
    this.deadline = applyMethodTimeout(options.deadline, config);
    this.metadata = options.metadata;
    this.waitForReady = options.waitForReady ?? config.waitForReady ?? false;
    this.credentials = options.credentials;
    const encoding = options.compression ?? core.defaultCompression;
    // Like the channel option: a misspelt name must not silently send uncompressed.
    if (encoding !== undefined && encoding !== "identity" && !getCompressor(encoding)) {
      throw new Error(`unknown compression "${encoding}"`);
    }
    const useCompression = encoding !== undefined && encoding !== "identity" && core.peerAccepts(encoding);
    this.writer = new MessageWriter(core.maxSendMessageLength, useCompression ? getCompressor(encoding) : undefined);
    this.encoding = this.writer.encoding;
    this.below = new RetryingCall(core, this, this);
  }

  /** "ipv4:host:port" of the server once connected. */
  get peer(): string | undefined {
    return this.below.peer;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  start(): void {
    this.core.track(this);
    const signal = this.options.signal;
    if (signal) {
      if (signal.aborted) {
        this.onAbort();
        return;
      }
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
    this.disarmDeadline = onDeadline(this.deadline, () => {
      this.cancel(new RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded"));
    });
    if (this.finished) return;
    this.below.start();
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
    return this.below.sendFrame(frame) ? undefined : this.whenWritable();
  }

  /** No more requests: END_STREAM. */
  halfClose(): void {
    if (this.halfClosed || this.finished) return;
    this.halfClosed = true;
    this.below.halfClose();
  }

  /** Ends the call with `reason` (CANCELLED by default) and resets the stream with CANCEL. */
  cancel(reason: RpcError = new RpcError(Code.CANCELLED, "call cancelled")): void {
    if (this.finished) return;
    this.below.cancel();
    this.onStatus({ code: reason.code, details: reason.details, metadata: reason.metadata });
  }

  /** Stop reading responses (the peer is slowed by HTTP/2 flow control) until `resume`. */
  pause(): void {
    this.below.pause();
  }

  resume(): void {
    this.below.resume();
  }

  // ---- CallStreamListener: what the pipeline below reports ------------------------------------------

  onHeaders(metadata: Metadata): void {
    // A Trailers-Only answer has no headers of its own: the status brings empty ones.
    if (!this.finished && metadata !== EMPTY_HEADERS_MARK) this.listener.onHeaders(metadata);
  }

  onMessage(payload: Uint8Array): void {
    if (!this.finished) this.listener.onMessage(payload);
  }

  onDrain(): void {
    this.flushDrainWaiters();
  }

  onStatus(status: Status): void {
    if (this.finished) return;
    this.finished = true;
    this.disarmDeadline();
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.core.untrack(this);
    this.flushDrainWaiters();
    // A call cut off by a passed deadline is DEADLINE_EXCEEDED, whoever cancelled it first.
    if (status.code === Code.CANCELLED && this.deadline <= Date.now()) {
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

function noop(): void {}
