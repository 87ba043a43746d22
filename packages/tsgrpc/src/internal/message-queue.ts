/**
 * An async-iterable queue of incoming messages. The producer (the network) pushes; one consumer pulls.
 * When more than `highWaterMark` messages wait, `onPressure(true)` asks the producer to pause reading,
 * which stops HTTP/2 window updates and so slows the peer; `onPressure(false)` resumes once drained.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private done = false;
  private failure: unknown;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private paused = false;
  private iterated = false;

  constructor(
    private readonly highWaterMark = 16,
    private readonly onPressure?: (pause: boolean) => void,
    /** Called when the consumer stops early (break / return), e.g. to cancel the call. */
    private readonly onAbandon?: () => void,
  ) {}

  get ended(): boolean {
    return this.done;
  }

  push(item: T): void {
    if (this.done) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.items.length - this.head > this.highWaterMark) {
      this.paused = true;
      this.onPressure?.(true);
    }
  }

  /** No more items: the consumer sees the end after the queued ones. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.settleWaiter();
  }

  /** The consumer gets `error` after the queued items (or at once with `discard`). */
  fail(error: unknown, discard = false): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    if (discard) {
      this.items.length = 0;
      this.head = 0;
    }
    this.settleWaiter();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head]!;
      this.items[this.head++] = undefined as T;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      if (this.paused && this.items.length - this.head <= this.highWaterMark / 2) {
        this.paused = false;
        this.onPressure?.(false);
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      return this.failure !== undefined ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new Error("MessageQueue supports one reader at a time"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error("this message stream can be iterated only once");
    this.iterated = true;
    return {
      next: () => this.next(),
      return: () => {
        if (!this.done) {
          this.done = true;
          this.items.length = 0;
          this.head = 0;
          // A next() still waiting (called without for-await) would otherwise never settle.
          this.settleWaiter();
          this.onAbandon?.();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (!waiter || this.head < this.items.length) return;
    this.waiter = undefined;
    if (this.failure !== undefined) waiter.reject(this.failure);
    else waiter.resolve({ value: undefined, done: true });
  }
}
