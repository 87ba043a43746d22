import { Code } from "../../core/code.js";
import type { Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Status } from "../../core/status.js";
import { formatAddress, type ClientConnection } from "../../transport/transport.js";
import type { PickArgs } from "../balancer/picker.js";
import type { ChannelCore, QueuedPick } from "../internal/channel-core.js";
import { applyCallCredentials, type CredentialsOutcome } from "./apply-call-credentials.js";
import type { AttemptListener, CallHead, CallStream } from "./call-stream.js";
import { SubchannelCall } from "./subchannel-call.js";

/**
 * One attempt of a call through the load-balancing policy (grpc-js's load-balancing-call): pick a
 * subchannel with the channel's current picker (or wait for the next picker), ask the call credentials,
 * then open the stream on the subchannel's connection. Request frames written before that are kept
 * and go out when the stream opens.
 */
export class BalancedCall implements CallStream, PickArgs, QueuedPick, CredentialsOutcome, AttemptListener {
  readonly path: string;
  readonly metadata: Metadata;
  private call: SubchannelCall | undefined;
  private frames: Buffer[] = [];
  private halfClosed = false;
  private paused = false;
  private done = false;
  private queued = false;
  /** The connection picked while call credentials are being asked, and how to abandon them. */
  private picked: ClientConnection | undefined;
  private abandonCredentials: (() => void) | undefined;

  constructor(
    private readonly core: ChannelCore,
    private readonly head: CallHead,
    private readonly listener: AttemptListener,
  ) {
    this.path = head.path;
    this.metadata = head.metadata;
  }

  get peer(): string | undefined {
    return this.call ? formatAddress(this.call.connection.address) : undefined;
  }

  start(): void {
    this.pick();
  }

  sendFrame(frame: Buffer): boolean {
    if (this.done) return true;
    if (this.call === undefined) {
      this.frames.push(frame);
      return false;
    }
    return this.call.write(frame);
  }

  halfClose(): void {
    this.halfClosed = true;
    this.call?.end();
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.frames = [];
    if (this.queued) this.core.unqueuePick(this);
    this.abandonCredentials?.();
    this.call?.cancel();
  }

  pause(): void {
    this.paused = true;
    this.call?.pause();
  }

  resume(): void {
    this.paused = false;
    this.call?.resume();
  }

  /** A new picker was published (QueuedPick). */
  repick(): void {
    this.queued = false;
    if (!this.done) this.pick();
  }

  // ---- picking --------------------------------------------------------------------------------------

  private pick(): void {
    const picker = this.core.picker;
    const result = picker.pick(this);
    // Picking may have made the policy publish a new picker (an IDLE one waking up): pick on that one.
    if (this.core.picker !== picker && result.type !== "complete" && result.type !== "drop") {
      this.pick();
      return;
    }
    switch (result.type) {
      case "complete": {
        const connection = result.subchannel.connection;
        // A subchannel whose connection just went away: its policy publishes a new picker soon.
        if (connection === undefined || connection.state !== "ready") this.queue();
        else this.onPicked(connection);
        return;
      }
      case "queue":
        this.queue();
        return;
      case "fail":
        // Fail-fast calls end here; wait-for-ready ones wait for a picker that places them.
        if (this.head.waitForReady) this.queue();
        else this.end(result.error);
        return;
      case "drop":
        this.end(result.error);
        return;
    }
  }

  private queue(): void {
    this.queued = true;
    this.core.queuePick(this);
  }

  private onPicked(connection: ClientConnection): void {
    // Call credentials (apply-call-credentials.ts): asked after the pick; the call goes on when they answer.
    this.picked = connection;
    this.abandonCredentials = applyCallCredentials(this.core, this.head.credentials, this.path, this.metadata, this);
    if (this.abandonCredentials === undefined) this.open(connection, this.metadata);
  }

  /** CredentialsOutcome: the request metadata with what the plugins added. */
  onReady(metadata: Metadata): void {
    this.abandonCredentials = undefined;
    if (this.done || this.picked === undefined) return;
    // The picked connection may have gone while the plugins ran: then nothing was sent, pick again.
    if (this.picked.state !== "ready") {
      this.done = true;
      this.listener.onStatus(unavailable("the connection went away while call credentials were asked"), true);
      return;
    }
    this.open(this.picked, metadata);
  }

  /** CredentialsOutcome: a plugin failed, or the channel may not carry call credentials. */
  onFailed(error: RpcError): void {
    this.abandonCredentials = undefined;
    this.end(error);
  }

  private open(connection: ClientConnection, metadata: Metadata): void {
    if (this.done) return;
    this.picked = undefined;
    // The deadline timer fires asynchronously, so a call whose deadline has already passed must not go
    // on the wire first.
    if (this.head.deadline <= Date.now()) {
      this.end(new RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded"));
      return;
    }
    const call = new SubchannelCall(this.core, this, connection);
    this.call = call;
    const frames = this.frames;
    this.frames = EMPTY_FRAMES;
    if (call.start(this.head, metadata, frames, this.halfClosed, this.paused) && !this.done) this.listener.onDrain();
  }

  private end(error: RpcError): void {
    if (this.done) return;
    this.done = true;
    this.listener.onStatus({ code: error.code, details: error.details, metadata: error.metadata }, false);
  }

  // ---- AttemptListener: the subchannel call's reports, passed up ------------------------------------

  onHeaders(metadata: Metadata): void {
    if (!this.done) this.listener.onHeaders(metadata);
  }

  onMessage(payload: Uint8Array): void {
    if (!this.done) this.listener.onMessage(payload);
  }

  onStatus(status: Status, unprocessed?: boolean): void {
    if (this.done) return;
    this.done = true;
    this.listener.onStatus(status, unprocessed);
  }

  onDrain(): void {
    if (!this.done) this.listener.onDrain();
  }
}

/** Shared, never written: the frames list once the stream is open. */
const EMPTY_FRAMES: Buffer[] = [];

function unavailable(details: string): Status {
  const error = new RpcError(Code.UNAVAILABLE, details);
  return { code: error.code, details: error.details, metadata: error.metadata };
}
