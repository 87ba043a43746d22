import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { ErrorCode, RawFrameClient } from "../helpers/raw-frames.js";
import { echoImpl, encodeRequest, startTestServer, UNARY, type TestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

/**
 * RFC 9113 §8.2.1 / §8.1.1: a request with a malformed field is a stream error of type PROTOCOL_ERROR.
 * nghttp2 (inside node:http2) refuses uppercase names that way, but drops every other invalid field
 * (NUL/CR/LF in a value, whitespace at its ends, a space, colon or other non-token character in a name)
 * without a trace and hands over the rest of the request, so the server cannot refuse it. These tests
 * pin down what node does (docs/http2-limitations.md): the field never reaches the application (so it
 * cannot smuggle a line break into logs or forwarded metadata), and the connection is unharmed.
 */

const DROPPED: Array<[string, string, string]> = [
  ["NUL in a value", "x-a", "a\0b"],
  ["CR in a value", "x-a", "a\rb"],
  ["LF in a value", "x-a", "a\nb"],
  ["a value with a leading space", "x-a", " v"],
  ["a value with a trailing tab", "x-a", "v\t"],
  ["a space in a name", "x a", "v"],
  ["a colon inside a name", "x:a", "v"],
  ["a non-token character in a name", "x(a)", "v"],
];

let server: TestServer;
let seen: Array<Record<string, unknown>> = [];

describe("malformed header fields, as node:http2 handles them", () => {
  before(async () => {
    server = await startTestServer((s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary(request, ctx) {
          seen.push(ctx.metadata.toJSON());
          return { message: request.message };
        },
      }),
    );
  });
  after(() => server.close());

  for (const [label, name, value] of DROPPED) {
    test(`${label}: node drops the field and serves the rest`, { timeout: 10_000 }, async () => {
      const client = await RawFrameClient.connect(server.port);
      try {
        seen = [];
        const r = await client.unary(1, UNARY, encodeRequest({ message: "m" }), [[name, value], ["x-ok", "kept"]]);
        assert.equal(r.status, "0", `${label}: served (rst ${r.rst})`);
        assert.equal(seen.length, 1);
        assert.equal(Object.keys(seen[0]!).some((k) => k.includes("a") && k !== "x-ok"), false, `${label}: the field never reached the handler: ${JSON.stringify(seen[0])}`);
        assert.deepEqual(seen[0]!["x-ok"], ["kept"], "the valid fields arrive");
        const good = await client.unary(3, UNARY, encodeRequest({ message: "good" }));
        assert.equal(good.status, "0", `${label}: a good call on the same connection`);
        assert.equal(client.goawayIfAny(), undefined, "no GOAWAY");
      } finally {
        await client.destroy();
      }
    });
  }

  test("an uppercase field name: RST_STREAM(PROTOCOL_ERROR) from nghttp2, no handler, the connection lives", { timeout: 10_000 }, async () => {
    const client = await RawFrameClient.connect(server.port);
    try {
      seen = [];
      const bad = await client.unary(1, UNARY, encodeRequest({ message: "bad" }), [["X-A", "v"]]);
      assert.equal(bad.rst, ErrorCode.PROTOCOL_ERROR, `RST_STREAM code ${bad.rst}, grpc-status ${bad.status}`);
      assert.equal(seen.length, 0, "no handler ran");
      const good = await client.unary(3, UNARY, encodeRequest({ message: "good" }));
      assert.equal(good.status, "0");
    } finally {
      await client.destroy();
    }
  });

  test("valid but unusual values are served: inner tab, obs-text bytes, empty", { timeout: 10_000 }, async () => {
    const client = await RawFrameClient.connect(server.port);
    try {
      let id = 1;
      for (const value of ["a\tb", Buffer.from([0x80, 0xff]), ""]) {
        const r = await client.unary(id, UNARY, encodeRequest({ message: "ok" }), [["x-a", value]]);
        assert.equal(r.status, "0", JSON.stringify(value));
        id += 2;
      }
    } finally {
      await client.destroy();
    }
  });
});
