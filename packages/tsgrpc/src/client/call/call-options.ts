import type { MetadataInit } from "../../core/metadata.js";
import type { CompressionName } from "../../protocol/compression.js";
import type { CallCredentials } from "../call-credentials.js";

/** Per-call options (reference: the keyword arguments of a multi-callable). */
export interface CallOptions {
  /** Relative timeout; with `deadline` too, the earlier wins. */
  timeoutMs?: number;
  /** Absolute deadline (Date or ms since the epoch). */
  deadline?: Date | number;
  /** Request metadata sent with the call. */
  metadata?: MetadataInit;
  /** Aborting cancels the call: the server sees RST_STREAM(CANCEL), the caller CANCELLED. */
  signal?: AbortSignal;
  /** Wait for the channel to become READY instead of failing fast while it is in TRANSIENT_FAILURE. */
  waitForReady?: boolean;
  /** Request compression for this call ("gzip", "deflate", "identity"); default: the channel's. */
  compression?: CompressionName;
  /**
   * Call credentials for this call, after the channel's own (reference: the `credentials` argument). Only
   * sent on a TLS or local channel; on an insecure one the call fails UNAUTHENTICATED.
   */
  credentials?: CallCredentials;
}
