import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { onDeadline, resolveDeadline, timeRemaining } from "../../src/core/deadline.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("resolveDeadline", () => {
  test("no timeout and no deadline is Infinity", () => {
    assert.equal(resolveDeadline({}), Infinity);
  });

  test("a timeout is relative to now", () => {
    const before = Date.now();
    const d = resolveDeadline({ timeoutMs: 5_000 });
    const after = Date.now();
    assert.ok(d >= before + 5_000 && d <= after + 5_000, `${d - before}`);
  });

  test("a deadline may be a Date or a number", () => {
    assert.equal(resolveDeadline({ deadline: 1_700_000_000_000 }), 1_700_000_000_000);
    assert.equal(resolveDeadline({ deadline: new Date(1_700_000_000_000) }), 1_700_000_000_000);
    assert.equal(resolveDeadline({ deadline: Infinity }), Infinity);
  });

  test("the earlier of timeout and deadline wins", () => {
    const now = Date.now();
    assert.equal(resolveDeadline({ timeoutMs: 60_000, deadline: now + 1_000 }), now + 1_000);
    const d = resolveDeadline({ timeoutMs: 1_000, deadline: new Date(now + 60_000) });
    assert.ok(d >= now + 1_000 && d < now + 60_000);
    assert.equal(resolveDeadline({ timeoutMs: 1_000, deadline: now - 5 }), now - 5, "a past deadline stays");
  });

  test("a zero timeout is allowed and means now", () => {
    const before = Date.now();
    const d = resolveDeadline({ timeoutMs: 0 });
    assert.ok(d >= before && d <= Date.now());
  });

  test("a negative or NaN timeout throws RangeError", () => {
    assert.throws(() => resolveDeadline({ timeoutMs: -1 }), RangeError);
    assert.throws(() => resolveDeadline({ timeoutMs: -Infinity }), RangeError);
    assert.throws(() => resolveDeadline({ timeoutMs: NaN }), RangeError);
  });

  test("an invalid Date or NaN deadline throws RangeError", () => {
    assert.throws(() => resolveDeadline({ deadline: new Date("not a date") }), RangeError);
    assert.throws(() => resolveDeadline({ deadline: NaN }), RangeError);
    assert.throws(() => resolveDeadline({ deadline: NaN, timeoutMs: 1000 }), RangeError);
  });
});

describe("timeRemaining", () => {
  test("Infinity for no deadline, 0 once passed, the rest otherwise", () => {
    assert.equal(timeRemaining(Infinity), Infinity);
    assert.equal(timeRemaining(Date.now() - 1_000), 0);
    const left = timeRemaining(Date.now() + 10_000);
    assert.ok(left > 9_000 && left <= 10_000);
  });
});

describe("onDeadline", () => {
  test("fires once the deadline passes, not before", async () => {
    let fired = 0;
    const start = Date.now();
    onDeadline(start + 40, () => fired++);
    await sleep(10);
    assert.equal(fired, 0);
    await sleep(80);
    assert.equal(fired, 1);
  });

  test("disarm before the deadline stops it", async () => {
    let fired = 0;
    const disarm = onDeadline(Date.now() + 20, () => fired++);
    disarm();
    await sleep(50);
    assert.equal(fired, 0);
    disarm(); // disarming twice is harmless
  });

  test("disarm after it fired is harmless", async () => {
    let fired = 0;
    const disarm = onDeadline(Date.now() + 5, () => fired++);
    await sleep(30);
    assert.equal(fired, 1);
    disarm();
    assert.equal(fired, 1);
  });

  test("a deadline already passed fires soon, but not inside onDeadline itself", async () => {
    let fired = 0;
    let disarm: (() => void) | undefined;
    // Callers commonly disarm from inside the callback: the function must exist by then.
    disarm = onDeadline(Date.now() - 1_000, () => {
      fired++;
      assert.ok(disarm, "fired before onDeadline returned its disarm function");
      disarm();
    });
    assert.equal(fired, 0);
    await sleep(10);
    assert.equal(fired, 1);
  });

  test("a passed deadline can still be disarmed before it fires", async () => {
    let fired = 0;
    const disarm = onDeadline(Date.now(), () => fired++);
    disarm();
    await sleep(20);
    assert.equal(fired, 0);
  });

  test("Infinity never fires and leaves no timer", () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;
    const before = timers();
    const disarm = onDeadline(Infinity, () => assert.fail("must not fire"));
    assert.equal(timers(), before);
    disarm();
  });

  test("a far deadline beyond setTimeout's range does not fire early", async () => {
    let fired = 0;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on("warning", onWarning);
    const disarm = onDeadline(Date.now() + 2 ** 31 + 10_000, () => fired++);
    await sleep(30);
    disarm();
    process.off("warning", onWarning);
    assert.equal(fired, 0);
    assert.deepEqual(warnings, [], "no TimeoutOverflowWarning");
  });
});
