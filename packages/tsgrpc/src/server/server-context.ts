import { Code } from "../core/code.js";
import { timeRemaining, type Deadline } from "../core/deadline.js";
import { Metadata, type MetadataInit } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { CompressionName } from "../protocol/compression.js";
import type { ServerCall } from "./server-call.js";
import { authContextOf, type AuthContext } from "./auth-context.js";

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
  /**
   * Who is calling, from the connection's security: transport security type, the verified client
   * certificate's identities and every auth property (`auth_context`, `peer_identities`, `peer_identity_key`).
   */
  readonly authContext: AuthContext;
  /** Absolute deadline in ms since the epoch; Infinity when the client set none. */
  readonly deadline: Deadline;
  /** Milliseconds left before the deadline (Infinity when none). */
  timeRemaining(): number;
  /** Fires when the client cancels, the connection is lost, the deadline passes or the server stops. */
  readonly signal: AbortSignal;
  /** False once the call is over (`is_active`). */
  readonly isActive: boolean;
  /** Sends the response head now, with `metadata` added to the initial metadata. */
  sendHeaders(metadata?: MetadataInit): void;
  /** Trailing metadata sent with the status (`set_trailing_metadata`); adds to what was set before. */
  setTrailers(metadata: MetadataInit): void;
  /** The status to end with when the handler returns normally (`set_code`, `set_details`). */
  setStatus(code: Code, details?: string): void;
  /** Ends the call with this status at once: throws, so the handler stops here (`abort`). */
  abort(code: Code, details?: string, metadata?: MetadataInit): never;
  /**
   * Response compression for this call ("gzip", "deflate", "identity"); used if the client accepts it.
   * The response head names the encoding, so this must come before it is sent (the first response or
   * `sendHeaders`); later it throws, which ends the call INTERNAL unless the handler catches it.
   */
  setCompression(name: CompressionName): void;
  /**
   * Sends the next response message uncompressed (compressed flag 0) even when the call compresses
   * (`disable_next_message_compression`). Applies to one message only.
   */
  disableNextMessageCompression(): void;
  /**
   * Whether the request message the handler got last arrived compressed (compressed flag 1 on the wire).
   * For a unary or server-streaming call, that of the one request; for a request stream, that of the
   * message the iterator yielded most recently (false before the first).
   */
  readonly requestCompressed: boolean;
  /** Called once when the call ends for any reason (`add_callback`). */
  onEnd(callback: () => void): void;
}

/** The ServerContext of one call. Handlers get it as their last argument. */
export class CallContext implements ServerContext {
  /** What `setStatus`/`setTrailers` chose; read when the handler returns. */
  status: { code: Code; details: string } | undefined;
  trailers: Metadata | undefined;
  /** Set by runHandler as each request message is handed to the handler. */
  requestCompressed = false;
  private compressNext = true;

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

  get authContext(): AuthContext {
    return authContextOf(this.call.stream.security);
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
    // Only `metadata` here: trailers from setTrailers are added when the call ends (runHandler), and
    // copying them into the error too would send each of them twice.
    throw new RpcError(code, details, metadata === undefined ? undefined : Metadata.from(metadata));
  }

  setCompression(name: CompressionName): void {
    this.call.setResponseCompression(name);
  }

  disableNextMessageCompression(): void {
    this.compressNext = false;
  }

  /** Whether the response about to be sent may be compressed; resets the one-message override. */
  takeCompressNext(): boolean {
    const compress = this.compressNext;
    this.compressNext = true;
    return compress;
  }

  onEnd(callback: () => void): void {
    this.call.addEndCallback(callback);
  }
}
