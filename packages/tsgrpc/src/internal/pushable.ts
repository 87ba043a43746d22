import { MessageQueue } from "./message-queue.js";

/**
 * A push-style request stream for client-streaming and bidi calls: `push` messages as they come,
 * `end()` when done. It is an AsyncIterable, so it plugs into any call that takes one.
 */
export interface Pushable<T> extends AsyncIterable<T> {
  push(message: T): void;
  end(): void;
  /** Ends the stream with an error: the call is cancelled with it. */
  fail(error: unknown): void;
}

export function createPushable<T>(): Pushable<T> {
  const queue = new MessageQueue<T>(Infinity);
  return {
    push: (message) => queue.push(message),
    end: () => queue.end(),
    fail: (error) => queue.fail(error),
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
}
