import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { decompressMessage, type Compressor } from "./compression.js";
import { EnvelopeDecoder } from "./envelope.js";

/**
 * Turns DATA chunks into message payloads: de-framing, decompression and the receive size limit, which
 * holds for the message both as sent and after decompression. Errors are thrown as RpcError.
 */
export class MessageReader {
  private readonly decoder: EnvelopeDecoder;

  constructor(
    maxLength: number,
    /** The compressor named by the peer's `grpc-encoding`, or undefined for identity. */
    compressor: Compressor | undefined,
    onMessage: (payload: Uint8Array) => void,
  ) {
    this.decoder = new EnvelopeDecoder(maxLength, (payload, compressed) => {
      if (!compressed) {
        onMessage(payload);
        return;
      }
      if (!compressor) {
        throw new RpcError(Code.INTERNAL, "received a compressed message but no grpc-encoding was negotiated");
      }
      onMessage(decompressMessage(compressor, payload, maxLength));
    });
  }

  /** Bytes held for a message not complete yet. */
  get bufferedBytes(): number {
    return this.decoder.bufferedBytes;
  }

  push(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  /** At end of stream: a message that started but never finished is a protocol error. */
  finish(): void {
    if (this.decoder.hasPartialMessage) {
      throw new RpcError(Code.INTERNAL, "stream ended in the middle of a message");
    }
  }
}
