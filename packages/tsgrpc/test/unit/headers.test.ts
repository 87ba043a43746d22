import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { Metadata } from "../../src/core/metadata.js";
import {
  GRPC_CONTENT_TYPE,
  USER_AGENT,
  buildRequestHeaders,
  buildResponseHeaders,
  buildTrailers,
  buildTrailersOnly,
  isGrpcContentType,
  type RequestHead,
} from "../../src/protocol/headers.js";
import { parseTimeout } from "../../src/protocol/grpc-timeout.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

function head(overrides: Partial<RequestHead> = {}): RequestHead {
  return {
    path: "/pkg.Service/Method",
    authority: "example.com:443",
    scheme: "https",
    metadata: new Metadata(),
    acceptEncoding: "identity,gzip,deflate",
    ...overrides,
  };
}

describe("isGrpcContentType", () => {
  test("accepts application/grpc and its +format and parameter forms", () => {
    for (const v of ["application/grpc", "application/grpc+proto", "application/grpc+json", "application/grpc;charset=utf-8"]) {
      assert.equal(isGrpcContentType(v), true, v);
    }
  });

  test("rejects everything else", () => {
    for (const v of [undefined, "", "application/json", "text/plain", "application/grpcx", "application/grpc-web", "application/grp", "APPLICATION/GRPC-", 42, ["application/grpc"]]) {
      assert.equal(isGrpcContentType(v), false, String(v));
    }
  });
});

describe("buildRequestHeaders", () => {
  test("carries the required request fields", () => {
    const h = buildRequestHeaders(head());
    assert.equal(h[":method"], "POST");
    assert.equal(h[":scheme"], "https");
    assert.equal(h[":path"], "/pkg.Service/Method");
    assert.equal(h[":authority"], "example.com:443");
    assert.equal(h["content-type"], "application/grpc");
    assert.equal(GRPC_CONTENT_TYPE, "application/grpc");
    assert.equal(h.te, "trailers");
    assert.equal(h["grpc-accept-encoding"], "identity,gzip,deflate");
  });

  test("all header names are lower-case", () => {
    const h = buildRequestHeaders(head({ timeoutMs: 5, encoding: "gzip", metadata: new Metadata().add("X-Custom", "v") }));
    for (const name of Object.keys(h)) assert.equal(name, name.toLowerCase());
  });

  test("user-agent is grpc-<impl>/<version>, after the application's own", () => {
    assert.match(USER_AGENT, /^grpc-[a-z0-9-]+\/\d+\.\d+\.\d+/);
    assert.equal(buildRequestHeaders(head())["user-agent"], USER_AGENT);
    assert.equal(buildRequestHeaders(head({ userAgent: "my-app/2.0" }))["user-agent"], `my-app/2.0 ${USER_AGENT}`);
  });

  test("grpc-timeout only when a timeout is set", () => {
    assert.equal("grpc-timeout" in buildRequestHeaders(head()), false);
    assert.equal(buildRequestHeaders(head({ timeoutMs: 1500 }))["grpc-timeout"], "1500000u");
    const t = buildRequestHeaders(head({ timeoutMs: 3_600_000 }))["grpc-timeout"];
    assert.equal(parseTimeout(String(t)), 3_600_000);
    assert.match(String(buildRequestHeaders(head({ timeoutMs: 0 }))["grpc-timeout"]), /^\d{1,8}[HMSmun]$/);
  });

  test("grpc-encoding only for a real compression", () => {
    assert.equal("grpc-encoding" in buildRequestHeaders(head()), false);
    assert.equal("grpc-encoding" in buildRequestHeaders(head({ encoding: "identity" })), false);
    assert.equal(buildRequestHeaders(head({ encoding: "gzip" }))["grpc-encoding"], "gzip");
  });

  test("custom metadata is appended; reserved keys in it cannot override the protocol fields", () => {
    const metadata = new Metadata()
      .add("x-trace", "abc")
      .add("x-multi", "1")
      .add("x-multi", "2")
      .add("ctx-bin", new Uint8Array([0xff]))
      .add("content-type", "text/plain")
      .add("te", "gzip")
      .add("grpc-timeout", "1n");
    const h = buildRequestHeaders(head({ metadata, timeoutMs: 1000 }));
    assert.equal(h["x-trace"], "abc");
    assert.deepEqual(h["x-multi"], ["1", "2"]);
    assert.equal(h["ctx-bin"], "/w");
    assert.equal(h["content-type"], "application/grpc");
    assert.equal(h.te, "trailers");
    assert.equal(h["grpc-timeout"], "1000000u");
  });
});

describe("response heads", () => {
  test("buildResponseHeaders: :status 200, content-type, accept-encoding, metadata", () => {
    const h = buildResponseHeaders(new Metadata().add("x-init", "1"), undefined, "identity,gzip");
    assert.deepEqual(h, {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-accept-encoding": "identity,gzip",
      "x-init": "1",
    });
    assert.equal(buildResponseHeaders(new Metadata(), "gzip", "identity,gzip")["grpc-encoding"], "gzip");
    assert.equal("grpc-encoding" in buildResponseHeaders(new Metadata(), "identity", "identity"), false);
  });

  test("buildTrailers: grpc-status always, grpc-message only when there are details", () => {
    assert.deepEqual(buildTrailers({ code: Code.OK, details: "", metadata: new Metadata() }), { "grpc-status": "0" });
    const t = buildTrailers({
      code: Code.INVALID_ARGUMENT,
      details: "bad: ünïcode 100%",
      metadata: new Metadata().add("x-t", "v").add("grpc-status-details-bin", new Uint8Array([8, 3])).add("grpc-status", "0"),
    });
    assert.deepEqual(t, {
      "grpc-status": "3",
      "grpc-message": "bad: %C3%BCn%C3%AFcode 100%25",
      "x-t": "v",
      "grpc-status-details-bin": "CAM",
    });
  });

  test("buildTrailersOnly holds head and status in one block, without grpc-encoding", () => {
    const h = buildTrailersOnly(
      { code: Code.UNIMPLEMENTED, details: "no such method", metadata: new Metadata().add("x-trailer", "t") },
      new Metadata().add("x-header", "h"),
      "identity,gzip",
    );
    assert.deepEqual(h, {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-accept-encoding": "identity,gzip",
      "x-header": "h",
      "grpc-status": "12",
      "grpc-message": "no such method",
      "x-trailer": "t",
    });
  });
});
