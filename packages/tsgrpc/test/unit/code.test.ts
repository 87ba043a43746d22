import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code, codeName, isKnownCode } from "../../src/core/code.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("Code", () => {
  test("has the numbers of statuscodes.md", () => {
    const expected: Record<string, number> = {
      OK: 0,
      CANCELLED: 1,
      UNKNOWN: 2,
      INVALID_ARGUMENT: 3,
      DEADLINE_EXCEEDED: 4,
      NOT_FOUND: 5,
      ALREADY_EXISTS: 6,
      PERMISSION_DENIED: 7,
      RESOURCE_EXHAUSTED: 8,
      FAILED_PRECONDITION: 9,
      ABORTED: 10,
      OUT_OF_RANGE: 11,
      UNIMPLEMENTED: 12,
      INTERNAL: 13,
      UNAVAILABLE: 14,
      DATA_LOSS: 15,
      UNAUTHENTICATED: 16,
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(Code[name as keyof typeof Code], value, name);
  });

  test("codeName gives the upper-case name, CODE_<n> outside the table", () => {
    assert.equal(codeName(Code.OK), "OK");
    assert.equal(codeName(4), "DEADLINE_EXCEEDED");
    assert.equal(codeName(16), "UNAUTHENTICATED");
    assert.equal(codeName(17), "CODE_17");
    assert.equal(codeName(-1), "CODE_-1");
  });

  test("isKnownCode is true exactly for the integers 0..16", () => {
    for (let i = 0; i <= 16; i++) assert.equal(isKnownCode(i), true, String(i));
    for (const v of [-1, 17, 1.5, NaN, Infinity]) assert.equal(isKnownCode(v), false, String(v));
  });
});
