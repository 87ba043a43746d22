import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { Metadata } from "../../src/core/metadata.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("RpcError", () => {
  test("carries code, details and metadata; the message has the code name", () => {
    const md = new Metadata().add("k", "v");
    const err = new RpcError(Code.NOT_FOUND, "no such thing", md);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "RpcError");
    assert.equal(err.code, Code.NOT_FOUND);
    assert.equal(err.details, "no such thing");
    assert.equal(err.message, "NOT_FOUND: no such thing");
    assert.equal(err.metadata, md);
  });

  test("defaults to empty details and empty metadata", () => {
    const err = new RpcError(Code.INTERNAL);
    assert.equal(err.details, "");
    assert.ok(err.metadata instanceof Metadata);
    assert.equal(err.metadata.size, 0);
    assert.notEqual(new RpcError(Code.INTERNAL).metadata, err.metadata, "each error gets its own metadata");
  });

  test("keeps the cause", () => {
    const cause = new Error("root");
    assert.equal(new RpcError(Code.UNKNOWN, "x", undefined, { cause }).cause, cause);
  });

  test("from returns an RpcError unchanged", () => {
    const err = new RpcError(Code.ABORTED, "a");
    assert.equal(RpcError.from(err), err);
    assert.equal(RpcError.from(err, Code.INTERNAL), err);
  });

  test("from wraps other errors with the fallback code (UNKNOWN by default)", () => {
    const cause = new TypeError("bad type");
    const err = RpcError.from(cause);
    assert.equal(err.code, Code.UNKNOWN);
    assert.equal(err.details, "bad type");
    assert.equal(err.cause, cause);
    assert.equal(RpcError.from(cause, Code.INTERNAL).code, Code.INTERNAL);
  });

  test("from wraps non-errors as text", () => {
    assert.equal(RpcError.from("just a string").details, "just a string");
    assert.equal(RpcError.from(42).details, "42");
    assert.equal(RpcError.from(undefined).code, Code.UNKNOWN);
  });
});
