import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { MessageQueue } from "../../src/internal/message-queue.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

async function drain<T>(queue: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of queue) out.push(item);
  return out;
}

/** Resolves after pending promise callbacks have run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("MessageQueue", () => {
  test("delivers queued items in order, then the end", async () => {
    const q = new MessageQueue<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    q.end();
    assert.equal(q.ended, true);
    assert.deepEqual(await drain(q), [0, 1, 2, 3, 4]);
  });

  test("a waiting reader gets items pushed later, in order", async () => {
    const q = new MessageQueue<string>();
    const result = drain(q);
    await tick();
    q.push("a");
    await tick();
    q.push("b");
    q.push("c");
    await tick();
    q.end();
    assert.deepEqual(await result, ["a", "b", "c"]);
  });

  test("end wakes a waiting reader", async () => {
    const q = new MessageQueue<number>();
    const pending = q.next();
    q.end();
    assert.deepEqual(await pending, { value: undefined, done: true });
    // and it stays ended
    assert.deepEqual(await q.next(), { value: undefined, done: true });
  });

  test("pushes after end are ignored", async () => {
    const q = new MessageQueue<number>();
    q.push(1);
    q.end();
    q.push(2);
    q.end();
    assert.deepEqual(await drain(q), [1]);
  });

  test("fail delivers the error after the queued items", async () => {
    const q = new MessageQueue<number>();
    q.push(1);
    q.push(2);
    const error = new Error("stream broke");
    q.fail(error);
    assert.equal(q.ended, true);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const item of q) seen.push(item);
    }, error);
    assert.deepEqual(seen, [1, 2]);
  });

  test("fail with discard drops the queued items", async () => {
    const q = new MessageQueue<number>();
    q.push(1);
    q.push(2);
    const error = new Error("cancelled");
    q.fail(error, true);
    await assert.rejects(q.next(), error);
    await assert.rejects(q.next(), error, "the error stays");
  });

  test("fail rejects a waiting reader", async () => {
    const q = new MessageQueue<number>();
    const pending = q.next();
    const error = new Error("gone");
    q.fail(error);
    await assert.rejects(pending, error);
  });

  test("fail after end, and end after fail, change nothing", async () => {
    const ended = new MessageQueue<number>();
    ended.push(1);
    ended.end();
    ended.fail(new Error("late"));
    assert.deepEqual(await drain(ended), [1]);

    const failed = new MessageQueue<number>();
    const error = new Error("first");
    failed.fail(error);
    failed.end();
    failed.fail(new Error("second"));
    await assert.rejects(failed.next(), error);
  });

  test("pauses the producer above the high-water mark and resumes at half", async () => {
    const calls: boolean[] = [];
    const q = new MessageQueue<number>(4, (pause) => calls.push(pause));
    for (let i = 0; i < 4; i++) q.push(i);
    assert.deepEqual(calls, [], "4 waiting items is not above a high-water mark of 4");
    q.push(4);
    assert.deepEqual(calls, [true]);
    q.push(5);
    q.push(6);
    assert.deepEqual(calls, [true], "pause is signalled once");
    // 7 waiting; resume when at most 2 wait
    for (let i = 0; i < 4; i++) await q.next();
    assert.deepEqual(calls, [true], "3 waiting is still above half");
    assert.deepEqual(await q.next(), { value: 4, done: false });
    assert.deepEqual(calls, [true, false]);
    await q.next();
    await q.next();
    assert.deepEqual(calls, [true, false], "resume is signalled once");
    // it can pause again
    for (let i = 0; i < 5; i++) q.push(i);
    assert.deepEqual(calls, [true, false, true]);
  });

  test("items handed straight to a waiting reader do not count towards the mark", async () => {
    const calls: boolean[] = [];
    const q = new MessageQueue<number>(1, (pause) => calls.push(pause));
    for (let i = 0; i < 10; i++) {
      const next = q.next();
      q.push(i);
      assert.deepEqual(await next, { value: i, done: false });
    }
    assert.deepEqual(calls, []);
  });

  test("an unbounded queue never pauses", () => {
    const calls: boolean[] = [];
    const q = new MessageQueue<number>(Infinity, (pause) => calls.push(pause));
    for (let i = 0; i < 10_000; i++) q.push(i);
    assert.deepEqual(calls, []);
  });

  test("breaking out of the loop calls onAbandon once and ends the queue", async () => {
    let abandoned = 0;
    const q = new MessageQueue<number>(16, undefined, () => abandoned++);
    q.push(1);
    q.push(2);
    q.push(3);
    for await (const item of q) {
      if (item === 2) break;
    }
    assert.equal(abandoned, 1);
    assert.equal(q.ended, true);
    q.push(4);
    assert.deepEqual(await q.next(), { value: undefined, done: true }, "the rest is dropped");
  });

  test("an exception in the loop body calls onAbandon", async () => {
    let abandoned = 0;
    const q = new MessageQueue<number>(16, undefined, () => abandoned++);
    q.push(1);
    await assert.rejects(async () => {
      for await (const _ of q) throw new Error("consumer failed");
    }, /consumer failed/);
    assert.equal(abandoned, 1);
  });

  test("return after the end does not call onAbandon", async () => {
    let abandoned = 0;
    const q = new MessageQueue<number>(16, undefined, () => abandoned++);
    q.push(1);
    q.end();
    for await (const _ of q) break;
    assert.equal(abandoned, 0);
  });

  test("return settles a read that is still waiting", async () => {
    let abandoned = 0;
    const q = new MessageQueue<number>(16, undefined, () => abandoned++);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    assert.deepEqual(await it.return!(), { value: undefined, done: true });
    assert.equal(abandoned, 1);
    let settled = false;
    void pending.then(() => (settled = true), () => (settled = true));
    await tick();
    assert.equal(settled, true, "the waiting next() must not hang forever");
    assert.deepEqual(await pending, { value: undefined, done: true });
  });

  test("can be iterated only once", () => {
    const q = new MessageQueue<number>();
    q[Symbol.asyncIterator]();
    assert.throws(() => q[Symbol.asyncIterator](), /only once/);
  });

  test("two concurrent reads are refused", async () => {
    const q = new MessageQueue<number>();
    const first = q.next();
    await assert.rejects(q.next(), /one reader/);
    q.push(7);
    assert.deepEqual(await first, { value: 7, done: false });
  });

  test("keeps order across many pushes and partial drains", async () => {
    const q = new MessageQueue<number>(8);
    const got: number[] = [];
    let n = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) q.push(n++);
      for (let i = 0; i < (round % 5); i++) {
        if (got.length < n) got.push((await q.next()).value as number);
      }
    }
    q.end();
    for await (const item of q) got.push(item);
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
  });
});
