/**
 * The bytes a whole server holds for request messages that have not arrived completely, across every
 * connection and stream. Without a bound, a client (or many) could open many streams and send each a
 * message prefix announcing 4 MiB (the default receive limit), then trickle or stall: every stream then
 * holds up to 4 MiB. Past the bound the server takes no new stream (REFUSED_STREAM, which clients retry
 * elsewhere or later); calls already running go on, so the bound may be overshot by what they still
 * buffer, at most their count times the receive limit.
 */
export class ReceiveBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** True when no new stream should be taken. */
  get exhausted(): boolean {
    return this.used >= this.limitBytes;
  }

  /** Bytes held went up (positive) or down (negative). */
  adjust(delta: number): void {
    this.used += delta;
  }
}

/**
 * The default bound: 64 MiB, or four messages at the receive limit when that is larger, so that a server
 * with a raised limit can still take a few large uploads at once. Message buffers live outside the JS heap,
 * so the bound is in bytes, not a fraction of the heap.
 */
export function defaultReceiveBudgetBytes(maxReceiveMessageLength: number): number {
  const fourMessages = Number.isFinite(maxReceiveMessageLength) ? 4 * maxReceiveMessageLength : Infinity;
  return Math.max(64 * 1024 * 1024, fourMessages);
}
