import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Metadata } from "../../src/core/metadata.js";
import {
  appendMetadataHeaders,
  isMetadataHeader,
  metadataFromRawHeaders,
  type OutgoingHeaders,
} from "../../src/protocol/metadata-headers.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("isMetadataHeader", () => {
  test("pseudo headers are not metadata", () => {
    for (const name of [":path", ":status", ":authority", ":method", ":scheme"]) assert.equal(isMetadataHeader(name), false, name);
  });

  test("reserved grpc-* headers are not metadata", () => {
    for (const name of [
      "grpc-status",
      "grpc-message",
      "grpc-timeout",
      "grpc-encoding",
      "grpc-accept-encoding",
      "grpc-previous-rpc-attempts",
      "grpc-retry-pushback-ms",
      "grpc-custom",
      "grpc-other-bin",
    ]) {
      assert.equal(isMetadataHeader(name), false, name);
    }
  });

  test("grpc-status-details-bin is metadata", () => {
    assert.equal(isMetadataHeader("grpc-status-details-bin"), true);
  });

  test("content-type, te and connection-specific headers are not metadata", () => {
    for (const name of ["content-type", "te", "connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"]) {
      assert.equal(isMetadataHeader(name), false, name);
    }
  });

  test("ordinary keys are metadata", () => {
    for (const name of ["x-request-id", "authorization", "user-agent", "trace-bin", "grpcx", "my-grpc-key"]) {
      assert.equal(isMetadataHeader(name), true, name);
    }
  });
});

describe("appendMetadataHeaders", () => {
  test("text values go out as they are, repeated keys as arrays in order", () => {
    const headers: OutgoingHeaders = {};
    appendMetadataHeaders(headers, new Metadata().add("single", "one").add("multi", "a").add("multi", "b").add("multi", "c"));
    assert.deepEqual(headers, { single: "one", multi: ["a", "b", "c"] });
  });

  test("-bin values are base64 without padding", () => {
    const headers: OutgoingHeaders = {};
    const md = new Metadata()
      .add("one-bin", new Uint8Array([0xff])) // "/w=="
      .add("two-bin", new Uint8Array([0xff, 0xfe])) // "//4="
      .add("three-bin", new Uint8Array([1, 2, 3])) // "AQID"
      .add("empty-bin", new Uint8Array(0))
      .add("rep-bin", new Uint8Array([0xfb]))
      .add("rep-bin", new Uint8Array([0xfb, 0xef]));
    appendMetadataHeaders(headers, md);
    assert.deepEqual(headers, {
      "one-bin": "/w",
      "two-bin": "//4",
      "three-bin": "AQID",
      "empty-bin": "",
      "rep-bin": ["+w", "++8"],
    });
  });

  test("skips reserved keys but keeps grpc-status-details-bin", () => {
    const headers: OutgoingHeaders = { "grpc-status": "0", "content-type": "application/grpc" };
    const md = new Metadata()
      .add("grpc-status", "13")
      .add("grpc-message", "spoofed")
      .add("content-type", "text/plain")
      .add("te", "gzip")
      .add("grpc-status-details-bin", new Uint8Array([8, 5]))
      .add("ok", "yes");
    appendMetadataHeaders(headers, md);
    assert.deepEqual(headers, {
      "grpc-status": "0",
      "content-type": "application/grpc",
      "grpc-status-details-bin": "CAU",
      ok: "yes",
    });
  });
});

describe("metadataFromRawHeaders", () => {
  test("keeps repeated text keys apart and in order", () => {
    const md = metadataFromRawHeaders(["x", "1", "y", "a", "x", "2", "x", "3"]);
    assert.deepEqual(md.getAll("x"), ["1", "2", "3"]);
    assert.deepEqual(md.getAll("y"), ["a"]);
  });

  test("text values that contain commas are not split", () => {
    const md = metadataFromRawHeaders(["list", "a, b,c"]);
    assert.deepEqual(md.getAll("list"), ["a, b,c"]);
  });

  test("decodes padded and unpadded base64", () => {
    const md = metadataFromRawHeaders(["a-bin", "/w==", "a-bin", "/w", "b-bin", "//4=", "b-bin", "//4", "c-bin", "AQID"]);
    assert.deepEqual(md.getAll("a-bin").map((v) => [...(v as Uint8Array)]), [[0xff], [0xff]]);
    assert.deepEqual(md.getAll("b-bin").map((v) => [...(v as Uint8Array)]), [[0xff, 0xfe], [0xff, 0xfe]]);
    assert.deepEqual([...(md.get("c-bin") as Uint8Array)], [1, 2, 3]);
  });

  test("splits comma-joined binary values, with or without spaces and padding", () => {
    const md = metadataFromRawHeaders(["x-bin", "/w==,//4", "x-bin", "AQID, AQ", "x-bin", "AQ== ,//4="]);
    assert.deepEqual(
      md.getAll("x-bin").map((v) => [...(v as Uint8Array)]),
      [[0xff], [0xff, 0xfe], [1, 2, 3], [1], [1], [0xff, 0xfe]],
    );
  });

  test("binary values come back as bytes, text values as strings", () => {
    const md = metadataFromRawHeaders(["t", "text", "b-bin", "AQ"]);
    assert.equal(typeof md.get("t"), "string");
    assert.ok(md.get("b-bin") instanceof Uint8Array);
  });

  test("drops pseudo, reserved and connection headers but keeps grpc-status-details-bin", () => {
    const md = metadataFromRawHeaders([
      ":status",
      "200",
      "content-type",
      "application/grpc",
      "te",
      "trailers",
      "grpc-status",
      "3",
      "grpc-message",
      "bad",
      "grpc-encoding",
      "gzip",
      "grpc-accept-encoding",
      "identity,gzip",
      "grpc-timeout",
      "1S",
      "grpc-status-details-bin",
      "CAMSA2JhZA",
      "custom",
      "kept",
    ]);
    assert.deepEqual([...md.keys()], ["grpc-status-details-bin", "custom"]);
    assert.deepEqual(Buffer.from(md.get("grpc-status-details-bin") as Uint8Array), Buffer.from("CAMSA2JhZA", "base64"));
  });

  test("round trips through appendMetadataHeaders", () => {
    const original = new Metadata()
      .add("a", "1")
      .add("a", "2")
      .add("data-bin", new Uint8Array([0, 1, 2, 253, 254, 255]))
      .add("data-bin", new Uint8Array([42]))
      .add("grpc-status-details-bin", new Uint8Array([8, 1]));
    const headers: OutgoingHeaders = {};
    appendMetadataHeaders(headers, original);
    const raw: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) raw.push(name, String(v));
    }
    const decoded = metadataFromRawHeaders(raw);
    assert.deepEqual(
      [...decoded].map(([k, v]) => [k, typeof v === "string" ? v : [...v]]),
      [...original].map(([k, v]) => [k, typeof v === "string" ? v : [...v]]),
    );
  });

  test("an empty list gives empty metadata", () => {
    assert.equal(metadataFromRawHeaders([]).size, 0);
  });
});
