import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { Compressor } from "./compression.js";
import { encodeEnvelope } from "./envelope.js";

/** Frames outgoing payloads: optional compression and the send size limit. */
export class MessageWriter {
  constructor(
    private readonly maxLength: number,
    /** The negotiated compressor, or undefined for identity. */
    private readonly compressor: Compressor | undefined,
  ) {}

  get encoding(): string | undefined {
    return this.compressor?.name;
  }

  /** `compress: false` sends this one message uncompressed even when the call compresses. */
  frame(payload: Uint8Array, compress = true): Buffer {
    if (payload.length > this.maxLength) {
      throw new RpcError(
        Code.RESOURCE_EXHAUSTED,
        `message to send is larger than max (${payload.length} vs. ${this.maxLength})`,
      );
    }
    if (this.compressor && compress) return encodeEnvelope(this.compressor.compress(payload), true);
    return encodeEnvelope(payload, false);
  }
}
