import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

/**
 * gRPC length-prefixed messages: 1 byte compressed-flag, 4 bytes big-endian length, then the payload.
 * DATA frame boundaries are unrelated to message boundaries, so the decoder reassembles across chunks.
 */
export const ENVELOPE_HEADER_LENGTH = 5;

/** One framed message: the header and payload in a single buffer, so it usually leaves as one DATA frame. */
export function encodeEnvelope(payload: Uint8Array, compressed: boolean): Buffer {
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_LENGTH + payload.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, ENVELOPE_HEADER_LENGTH);
  return out;
}

export type EnvelopeHandler = (payload: Buffer, compressed: boolean) => void;

/**
 * Incremental decoder. `push` hands every complete message to `onMessage` (zero-copy when a message lies
 * inside one chunk) and throws an RpcError for a bad flag (INTERNAL) or a message over `maxLength`
 * (RESOURCE_EXHAUSTED) before buffering its body.
 */
export class EnvelopeDecoder {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Body length of the message being assembled, or -1 while its header is still incomplete. */
  private bodyLength = -1;
  private compressed = false;

  constructor(
    private readonly maxLength: number,
    private readonly onMessage: EnvelopeHandler,
  ) {}

  /** Bytes held for a message not complete yet. */
  get bufferedBytes(): number {
    return this.pendingLength;
  }

  /** True when a message has started but not finished: at end of stream that means a truncated message. */
  get hasPartialMessage(): boolean {
    return this.pendingLength > 0 || this.bodyLength >= 0;
  }

  push(chunk: Buffer): void {
    if (this.pendingLength === 0 && this.bodyLength < 0) {
      chunk = this.consumeWhole(chunk);
      if (chunk.length === 0) return;
    }
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    for (;;) {
      if (this.bodyLength < 0) {
        if (this.pendingLength < ENVELOPE_HEADER_LENGTH) return;
        const header = this.take(ENVELOPE_HEADER_LENGTH);
        this.startMessage(header[0]!, header.readUInt32BE(1));
      }
      if (this.pendingLength < this.bodyLength) return;
      const body = this.take(this.bodyLength);
      this.bodyLength = -1;
      this.onMessage(body, this.compressed);
    }
  }

  /** Fast path: decodes the messages that lie entirely in `chunk`; returns the unconsumed tail. */
  private consumeWhole(chunk: Buffer): Buffer {
    let offset = 0;
    while (chunk.length - offset >= ENVELOPE_HEADER_LENGTH) {
      const flag = chunk[offset]!;
      const length = chunk.readUInt32BE(offset + 1);
      this.checkHeader(flag, length);
      const end = offset + ENVELOPE_HEADER_LENGTH + length;
      if (end > chunk.length) break;
      this.onMessage(chunk.subarray(offset + ENVELOPE_HEADER_LENGTH, end), flag === 1);
      offset = end;
    }
    return offset === 0 ? chunk : chunk.subarray(offset);
  }

  private startMessage(flag: number, length: number): void {
    this.checkHeader(flag, length);
    this.compressed = flag === 1;
    this.bodyLength = length;
  }

  private checkHeader(flag: number, length: number): void {
    if (flag > 1) throw new RpcError(Code.INTERNAL, `invalid message flag ${flag} in length-prefixed message`);
    if (length > this.maxLength) {
      throw new RpcError(
        Code.RESOURCE_EXHAUSTED,
        `received message larger than max (${length} vs. ${this.maxLength})`,
      );
    }
  }

  /** Removes and returns the first `n` buffered bytes (n <= pendingLength). */
  private take(n: number): Buffer {
    this.pendingLength -= n;
    const first = this.pending[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pending[0]!;
      const copy = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, copy);
      filled += copy;
      if (copy === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(copy);
    }
    return out;
  }
}
