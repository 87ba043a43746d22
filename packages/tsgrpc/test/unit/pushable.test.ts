import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createPushable } from "../../src/internal/pushable.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("createPushable", () => {
  test("yields pushed messages in order until end", async () => {
    const p = createPushable<string>();
    p.push("a");
    p.push("b");
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const m of p) seen.push(m);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    p.push("c");
    p.end();
    await consumer;
    assert.deepEqual(seen, ["a", "b", "c"]);
  });

  test("never applies backpressure: any number of messages can wait", async () => {
    const p = createPushable<number>();
    for (let i = 0; i < 1000; i++) p.push(i);
    p.end();
    let count = 0;
    for await (const m of p) assert.equal(m, count++);
    assert.equal(count, 1000);
  });

  test("fail ends the stream with the error after the pushed messages", async () => {
    const p = createPushable<number>();
    p.push(1);
    const error = new Error("producer failed");
    p.fail(error);
    p.push(2);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const m of p) seen.push(m);
    }, error);
    assert.deepEqual(seen, [1]);
  });

  test("can be iterated only once", () => {
    const p = createPushable<number>();
    p[Symbol.asyncIterator]();
    assert.throws(() => p[Symbol.asyncIterator](), /only once/);
  });
});
