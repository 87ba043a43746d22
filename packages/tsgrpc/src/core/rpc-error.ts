import { Code, codeName } from "./code.js";
import { Metadata } from "./metadata.js";

/**
 * The error every failed call rejects with, on the client (the status the server sent or the library
 * produced) and the error a handler throws to end its call with a chosen status.
 */
export class RpcError extends Error {
  override readonly name = "RpcError";
  readonly code: Code;
  /** The status message (`grpc-message`), without the code prefix. */
  readonly details: string;
  /** Trailing metadata that came with the status. */
  readonly metadata: Metadata;

  constructor(code: Code, details = "", metadata?: Metadata, options?: { cause?: unknown }) {
    super(`${codeName(code)}: ${details}`, options);
    this.code = code;
    this.details = details;
    this.metadata = metadata ?? new Metadata();
  }

  /** Turns anything thrown into an RpcError: an RpcError stays itself, anything else becomes `fallback`. */
  static from(err: unknown, fallback: Code = Code.UNKNOWN): RpcError {
    if (err instanceof RpcError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new RpcError(fallback, message, undefined, { cause: err });
  }
}
