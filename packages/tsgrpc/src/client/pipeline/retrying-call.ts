import type { Metadata } from "../../core/metadata.js";
import type { Status } from "../../core/status.js";
import type { ChannelCore } from "../internal/channel-core.js";
import { BalancedCall } from "./balanced-call.js";
import type { AttemptListener, CallHead, CallStream, CallStreamListener } from "./call-stream.js";

/**
 * The call's attempts (grpc-js's retrying-call). For now only transparent retries: an attempt the server
 * never processed (REFUSED_STREAM, a stream above a GOAWAY's last stream id, a connection that stopped
 * taking streams) is replayed on a new attempt, with every request frame sent so far. The call commits,
 * and can no longer be replayed, once response headers arrive or the frames outgrow MAX_REPLAY_BYTES.
 * Retry policies from a service config (gRFC A6) plug in here.
 */
export class RetryingCall implements CallStream, AttemptListener {
  private attempt: BalancedCall;
  /** Every frame sent so far, until the call commits. */
  private replay: Buffer[] | undefined = [];
  private replayBytes = 0;
  private transparentRetries = 0;
  private halfClosed = false;
  private paused = false;
  private done = false;

  constructor(
    private readonly core: ChannelCore,
    private readonly head: CallHead,
    private readonly listener: CallStreamListener,
  ) {
    this.attempt = new BalancedCall(core, head, this);
  }

  get peer(): string | undefined {
    return this.attempt.peer;
  }

  start(): void {
    this.attempt.start();
  }

  sendFrame(frame: Buffer): boolean {
    if (this.replay) {
      this.replayBytes += frame.length;
      if (this.replayBytes <= MAX_REPLAY_BYTES) this.replay.push(frame);
      else this.replay = undefined;
    }
    return this.attempt.sendFrame(frame);
  }

  halfClose(): void {
    this.halfClosed = true;
    this.attempt.halfClose();
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.replay = undefined;
    this.attempt.cancel();
  }

  pause(): void {
    this.paused = true;
    this.attempt.pause();
  }

  resume(): void {
    this.paused = false;
    this.attempt.resume();
  }

  // ---- AttemptListener ------------------------------------------------------------------------------

  onHeaders(metadata: Metadata): void {
    if (this.done) return;
    // The server has seen the call: it can no longer be retried transparently.
    this.replay = undefined;
    this.listener.onHeaders(metadata);
  }

  onMessage(payload: Uint8Array): void {
    if (!this.done) this.listener.onMessage(payload);
  }

  onDrain(): void {
    if (!this.done) this.listener.onDrain();
  }

  onStatus(status: Status, unprocessed?: boolean): void {
    if (this.done) return;
    if (unprocessed && this.replay && this.transparentRetries < MAX_TRANSPARENT_RETRIES) {
      // Safe to replay: the server never processed it. A new attempt picks again.
      this.transparentRetries++;
      const attempt = new BalancedCall(this.core, this.head, this);
      this.attempt = attempt;
      for (const frame of this.replay) attempt.sendFrame(frame);
      if (this.halfClosed) attempt.halfClose();
      if (this.paused) attempt.pause();
      attempt.start();
      return;
    }
    this.done = true;
    this.replay = undefined;
    this.listener.onStatus(status);
  }
}

/** Transparent retries of a refused stream; each one goes through the channel's pick again. */
const MAX_TRANSPARENT_RETRIES = 2;
/** Request bytes kept for a transparent retry; a call that sends more before the response head is not retried. */
const MAX_REPLAY_BYTES = 256 * 1024;
