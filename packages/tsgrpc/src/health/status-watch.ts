/**
 * The latest value of something watched, as an async iterable: each value differing from the one last
 * seen is delivered once; values that change faster than the reader reads are coalesced to the newest
 * (a slow Watch client gets the current status, not a backlog). Ends after `close()` once what was
 * pushed before it has been read.
 */
export class StatusWatch<T> implements AsyncIterable<T> {
  private pending: { value: T } | undefined;
  private lastDelivered: { value: T } | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(initial: T) {
    this.pending = { value: initial };
  }

  push(value: T): void {
    if (this.closed) return;
    const latest = this.pending ?? this.lastDelivered;
    if (latest !== undefined && Object.is(latest.value, value)) return;
    this.pending = this.lastDelivered !== undefined && Object.is(this.lastDelivered.value, value) ? undefined : { value };
    this.wakeReader();
  }

  close(): void {
    this.closed = true;
    this.wakeReader();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const next = this.pending;
      if (next !== undefined) {
        this.pending = undefined;
        this.lastDelivered = next;
        yield next.value;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
