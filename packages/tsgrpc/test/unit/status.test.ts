import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { Metadata } from "../../src/core/metadata.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { errorFromStatus, okStatus, statusFromError } from "../../src/core/status.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("Status", () => {
  test("okStatus is code OK with empty details", () => {
    const s = okStatus();
    assert.equal(s.code, Code.OK);
    assert.equal(s.details, "");
    assert.equal(s.metadata.size, 0);
    const md = new Metadata().add("t", "1");
    assert.equal(okStatus(md).metadata, md);
  });

  test("statusFromError and errorFromStatus carry code, details and metadata both ways", () => {
    const md = new Metadata().add("t", "1");
    const err = new RpcError(Code.OUT_OF_RANGE, "too far", md);
    const status = statusFromError(err);
    assert.deepEqual({ ...status }, { code: Code.OUT_OF_RANGE, details: "too far", metadata: md });
    const back = errorFromStatus(status);
    assert.ok(back instanceof RpcError);
    assert.equal(back.code, Code.OUT_OF_RANGE);
    assert.equal(back.details, "too far");
    assert.equal(back.metadata, md);
  });
});
