import { Code } from "../core/code.js";
import { timeRemaining, type Deadline } from "../core/deadline.js";
import { Metadata, type MetadataInit } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { ServerCall } from "./server-call.js";

/**
 * What a handler knows of and can do to its call (the reference API's `ServicerContext`).
 */
export interface ServerContext {
  /** Request metadata (`invocation_metadata`). */
  readonly metadata: Metadata;
  /** "/package.Service/Method". */
  readonly method: string;
  /** The client as "ipv4:host:port", "ipv6:[host]:port" or "unix:path". */
  readonly peer: string;
  /** Absolute deadline in ms since the epoch; Infinity when the client set none. */
  readonly deadline: Deadline;
  /** Milliseconds left before the deadline (Infinity when none). */
  timeRemaining(): number;
  /** Fires when the client cancels, the connection is lost, the deadline passes or the server stops. */
  readonly signal: AbortSignal;
  /** False once the call is over (`is_active`). */
  readonly isActive: boolean;
  /** Adds initial metadata; sent with the first message, or now with `send: true`. */
  sendHeaders(metadata?: MetadataInit): void;
  /** Trailing metadata sent with the status (`set_trailing_metadata`); adds to what was set before. */
  setTrailers(metadata: MetadataInit): void;
  /** The status to end with when the handler returns normally (`set_code`, `set_details`). */
  setStatus(code: Code, details?: string): void;
  /** Ends the call with this status at once: throws, so the handler stops here (`abort`). */
  abort(code: Code, details?: string, metadata?: MetadataInit): never;
  /** Response compression for this call ("gzip", "deflate", "identity"); used if the client accepts it. */
  setCompression(name: string): void;
  /** Called once when the call ends for any reason (`add_callback`). */
  onEnd(callback: () => void): void;
}

/** The ServerContext of one call. Handlers get it as their last argument. */
export class CallContext implements ServerContext {
  /** What `setStatus`/`setTrailers` chose; read when the handler returns. */
  status: { code: Code; details: string } | undefined;
  trailers: Metadata | undefined;

  constructor(private readonly call: ServerCall) {}

  get metadata(): Metadata {
    return this.call.metadata;
  }

  get method(): string {
    return this.call.path;
  }

  get peer(): string {
    return this.call.peer;
  }

  get deadline(): Deadline {
    return this.call.deadline;
  }

  timeRemaining(): number {
    return timeRemaining(this.call.deadline);
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }

  get isActive(): boolean {
    return !this.call.isFinished;
  }

  sendHeaders(metadata?: MetadataInit): void {
    if (metadata !== undefined) this.call.addInitialMetadata(Metadata.from(metadata));
    this.call.sendHeaders();
  }

  /** Adds initial metadata without sending it yet. */
  addHeaders(metadata: MetadataInit): void {
    this.call.addInitialMetadata(Metadata.from(metadata));
  }

  setTrailers(metadata: MetadataInit): void {
    (this.trailers ??= new Metadata()).merge(metadata);
  }

  setStatus(code: Code, details = ""): void {
    this.status = { code, details };
  }

  abort(code: Code, details = "", metadata?: MetadataInit): never {
    if (code === Code.OK) throw new Error("abort() needs a non-OK code");
    const trailers = this.trailers?.clone() ?? new Metadata();
    if (metadata !== undefined) trailers.merge(metadata);
    throw new RpcError(code, details, trailers);
  }

  setCompression(name: string): void {
    this.call.setResponseCompression(name);
  }

  onEnd(callback: () => void): void {
    this.call.onEnd(callback);
  }
}
