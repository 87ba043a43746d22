import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { clientStreams, passThrough, serverStreams, type MethodKind } from "../../src/core/method.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("method kinds", () => {
  test("clientStreams and serverStreams", () => {
    const table: Array<[MethodKind, boolean, boolean]> = [
      ["unary", false, false],
      ["server_streaming", false, true],
      ["client_streaming", true, false],
      ["bidi_streaming", true, true],
    ];
    for (const [kind, client, server] of table) {
      assert.equal(clientStreams(kind), client, kind);
      assert.equal(serverStreams(kind), server, kind);
    }
  });

  test("passThrough returns its input", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    assert.equal(passThrough(bytes), bytes);
  });
});
