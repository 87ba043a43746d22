import { Metadata } from "../../core/metadata.js";
import type { Status } from "../../core/status.js";

/**
 * What every call exposes besides its response(s) (reference: `grpc.Call` and `with_call`). None of these
 * promises rejects: a failed call resolves `status` with its code and details.
 */
export interface CallInfo {
  /** Initial metadata from the server; empty when the server answered Trailers-Only. */
  readonly headers: Promise<Metadata>;
  /** Trailing metadata, once the call has ended. */
  readonly trailers: Promise<Metadata>;
  /** Code, details and trailing metadata, once the call has ended. */
  readonly status: Promise<Status>;
  /** Cancels the call (the same as aborting its signal). */
  cancel(): void;
}

/** The resolvers behind a CallInfo, held by the call adapters. */
export class CallInfoSource {
  readonly headers: Promise<Metadata>;
  readonly status: Promise<Status>;
  private resolveHeaders!: (metadata: Metadata) => void;
  private resolveStatus!: (status: Status) => void;
  private headersSeen = false;

  constructor() {
    this.headers = new Promise((resolve) => (this.resolveHeaders = resolve));
    this.status = new Promise((resolve) => (this.resolveStatus = resolve));
  }

  gotHeaders(metadata: Metadata): void {
    if (this.headersSeen) return;
    this.headersSeen = true;
    this.resolveHeaders(metadata);
  }

  gotStatus(status: Status): void {
    this.gotHeaders(new Metadata());
    this.resolveStatus(status);
  }

  /** The public face, bound to `cancel`. */
  info(cancel: () => void): CallInfo {
    const status = this.status;
    return {
      headers: this.headers,
      // Made on demand: most callers never ask, and a promise per call is not free.
      get trailers() {
        return status.then((s) => s.metadata);
      },
      status,
      cancel,
    };
  }
}
