import type { CallCredentials } from "../call-credentials.js";
import type { Deadline } from "../../core/deadline.js";
import type { Metadata } from "../../core/metadata.js";
import type { Status } from "../../core/status.js";

/**
 * The seam between the layers of one call (client-call → retrying-call → balanced-call →
 * subchannel-call): framed request bytes go down, response parts come up. Each layer holds the one
 * below it and is the listener of that one; none allocates closures per call.
 */

/** What a layer reports upward, in order: headers (maybe), messages, then exactly one status. */
export interface CallStreamListener {
  onHeaders(metadata: Metadata): void;
  onMessage(payload: Uint8Array): void;
  onStatus(status: Status): void;
  /** Writes may go on after `sendFrame` returned false. */
  onDrain(): void;
}

/** Under the retrying call: a status also says whether the server never saw the call (safe to replay). */
export interface AttemptListener extends CallStreamListener {
  onStatus(status: Status, unprocessed?: boolean): void;
}

/** A layer as the one above it drives it. */
export interface CallStream {
  start(): void;
  /** One framed message; false: wait for `onDrain` (flow control, or no stream yet). */
  sendFrame(frame: Buffer): boolean;
  /** No more requests (END_STREAM). */
  halfClose(): void;
  /** Stops the call below (RST_STREAM CANCEL if a stream is open); nothing is reported after it. */
  cancel(): void;
  pause(): void;
  resume(): void;
  /** "ipv4:host:port" of the server, once a stream is open. */
  readonly peer: string | undefined;
}

/** The fixed parts of a call, as the top layer settled them (after the config selector). */
export interface CallHead {
  readonly path: string;
  readonly deadline: Deadline;
  readonly metadata: Metadata;
  readonly waitForReady: boolean;
  /** The request encoding; undefined when uncompressed. */
  readonly encoding: string | undefined;
  /** Call credentials of this call (the channel's own come from the channel). */
  readonly credentials: CallCredentials | undefined;
}
