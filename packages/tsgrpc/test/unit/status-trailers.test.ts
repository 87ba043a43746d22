import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { Metadata } from "../../src/core/metadata.js";
import { buildTrailers, statusFromTrailers, type IncomingHeaders } from "../../src/protocol/headers.js";
import { codeFromHttpStatus, codeFromRstStream, Http2ErrorCode } from "../../src/protocol/status-mapping.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

/** node:http2 gives trailers both as an object and as a flat raw list. */
function read(fields: Array<[string, string]>, httpStatus = 200): ReturnType<typeof statusFromTrailers> {
  const object: IncomingHeaders = {};
  const raw: string[] = [];
  for (const [name, value] of fields) {
    const prev = object[name];
    object[name] = prev === undefined ? value : ([] as string[]).concat(prev as string | string[], value);
    raw.push(name, value);
  }
  return statusFromTrailers(object, raw, httpStatus);
}

describe("codeFromHttpStatus", () => {
  const table: Array<[number, Code]> = [
    [400, Code.INTERNAL],
    [401, Code.UNAUTHENTICATED],
    [403, Code.PERMISSION_DENIED],
    [404, Code.UNIMPLEMENTED],
    [429, Code.UNAVAILABLE],
    [502, Code.UNAVAILABLE],
    [503, Code.UNAVAILABLE],
    [504, Code.UNAVAILABLE],
    [200, Code.UNKNOWN],
    [204, Code.UNKNOWN],
    [301, Code.UNKNOWN],
    [405, Code.UNKNOWN],
    [415, Code.UNKNOWN],
    [500, Code.UNKNOWN],
    [501, Code.UNKNOWN],
    [0, Code.UNKNOWN],
  ];
  for (const [http, code] of table) {
    test(`HTTP ${http} is ${Code[code]}`, () => {
      assert.equal(codeFromHttpStatus(http), code);
    });
  }
});

describe("codeFromRstStream", () => {
  test("the HTTP/2 error code numbers are those of RFC 9113", () => {
    assert.equal(Http2ErrorCode.NO_ERROR, 0);
    assert.equal(Http2ErrorCode.PROTOCOL_ERROR, 1);
    assert.equal(Http2ErrorCode.INTERNAL_ERROR, 2);
    assert.equal(Http2ErrorCode.FLOW_CONTROL_ERROR, 3);
    assert.equal(Http2ErrorCode.REFUSED_STREAM, 7);
    assert.equal(Http2ErrorCode.CANCEL, 8);
    assert.equal(Http2ErrorCode.ENHANCE_YOUR_CALM, 0xb);
    assert.equal(Http2ErrorCode.INADEQUATE_SECURITY, 0xc);
  });

  const table: Array<[number, Code]> = [
    [7, Code.UNAVAILABLE], // REFUSED_STREAM
    [8, Code.CANCELLED], // CANCEL
    [0xb, Code.RESOURCE_EXHAUSTED], // ENHANCE_YOUR_CALM
    [0xc, Code.PERMISSION_DENIED], // INADEQUATE_SECURITY
    [0, Code.INTERNAL], // NO_ERROR
    [1, Code.INTERNAL], // PROTOCOL_ERROR
    [2, Code.INTERNAL], // INTERNAL_ERROR
    [3, Code.INTERNAL], // FLOW_CONTROL_ERROR
    [4, Code.INTERNAL], // SETTINGS_TIMEOUT
    [5, Code.INTERNAL], // STREAM_CLOSED
    [6, Code.INTERNAL], // FRAME_SIZE_ERROR
    [9, Code.INTERNAL], // COMPRESSION_ERROR
    [0xa, Code.INTERNAL], // CONNECT_ERROR
    [0xd, Code.INTERNAL], // HTTP_1_1_REQUIRED
    [0xff, Code.INTERNAL],
  ];
  for (const [rst, code] of table) {
    test(`RST_STREAM 0x${rst.toString(16)} is ${Code[code]}`, () => {
      assert.equal(codeFromRstStream(rst), code);
    });
  }
});

describe("statusFromTrailers", () => {
  test("reads code, percent-decoded message and metadata", () => {
    const status = read([
      ["grpc-status", "5"],
      ["grpc-message", "not%20found: caf%C3%A9"],
      ["x-extra", "1"],
      ["x-extra", "2"],
    ]);
    assert.equal(status.code, Code.NOT_FOUND);
    assert.equal(status.details, "not found: café");
    assert.deepEqual(status.metadata.getAll("x-extra"), ["1", "2"]);
    assert.equal(status.metadata.has("grpc-status"), false);
    assert.equal(status.metadata.has("grpc-message"), false);
  });

  test("OK with no message", () => {
    const status = read([["grpc-status", "0"]]);
    assert.equal(status.code, Code.OK);
    assert.equal(status.details, "");
    assert.equal(status.metadata.size, 0);
  });

  test("every known code is read back", () => {
    for (let code = 0; code <= 16; code++) assert.equal(read([["grpc-status", String(code)]]).code, code);
  });

  test("grpc-status wins over the HTTP status when present", () => {
    assert.equal(read([["grpc-status", "0"]], 503).code, Code.OK);
  });

  test("grpc-status-details-bin is kept as binary metadata", () => {
    const details = Buffer.from([8, 3, 18, 3, 98, 97, 100]);
    const status = read([
      ["grpc-status", "3"],
      ["grpc-status-details-bin", details.toString("base64").replace(/=+$/, "")],
    ]);
    assert.deepEqual(Buffer.from(status.metadata.get("grpc-status-details-bin") as Uint8Array), details);
  });

  const httpTable: Array<[number, Code]> = [
    [400, Code.INTERNAL],
    [401, Code.UNAUTHENTICATED],
    [403, Code.PERMISSION_DENIED],
    [404, Code.UNIMPLEMENTED],
    [429, Code.UNAVAILABLE],
    [502, Code.UNAVAILABLE],
    [503, Code.UNAVAILABLE],
    [504, Code.UNAVAILABLE],
    [200, Code.UNKNOWN],
    [500, Code.UNKNOWN],
    [418, Code.UNKNOWN],
  ];
  for (const [http, code] of httpTable) {
    test(`missing grpc-status with HTTP ${http} is ${Code[code]}`, () => {
      const status = read([["x-meta", "kept"]], http);
      assert.equal(status.code, code);
      assert.ok(status.details.length > 0, "the details should say what happened");
      if (http !== 200) assert.match(status.details, new RegExp(String(http)));
      assert.equal(status.metadata.get("x-meta"), "kept");
    });
  }

  for (const bad of ["", "abc", "-1", "1.5", "0x1", "1e1", " ", "OK"]) {
    test(`grpc-status ${JSON.stringify(bad)} is UNKNOWN`, () => {
      const status = read([
        ["grpc-status", bad],
        ["grpc-message", "ignored"],
      ]);
      assert.equal(status.code, Code.UNKNOWN);
    });
  }

  test("a numeric grpc-status outside 0..16 is UNKNOWN", () => {
    for (const value of ["17", "99", "4294967296", "99999999999999999999"]) {
      const status = read([
        ["grpc-status", value],
        ["grpc-message", "from%20server"],
      ]);
      assert.equal(status.code, Code.UNKNOWN, value);
      assert.ok(Number.isInteger(status.code) && status.code >= 0 && status.code <= 16);
    }
  });

  test("surrounding whitespace in grpc-status is tolerated", () => {
    assert.equal(read([["grpc-status", " 7 "]]).code, Code.PERMISSION_DENIED);
  });

  test("a repeated grpc-status is UNKNOWN rather than a guess", () => {
    assert.equal(read([["grpc-status", "0"], ["grpc-status", "13"]]).code, Code.UNKNOWN);
  });

  test("a grpc-message with a bad escape is passed through", () => {
    assert.equal(read([["grpc-status", "13"], ["grpc-message", "100% broken %zz"]]).details, "100% broken %zz");
  });

  test("reads back what buildTrailers writes", () => {
    const metadata = new Metadata().add("k", "v").add("b-bin", new Uint8Array([1, 2, 3]));
    const trailers = buildTrailers({ code: Code.FAILED_PRECONDITION, details: "wrong state: ünïcode\n100%", metadata });
    const fields: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(trailers)) {
      for (const v of Array.isArray(value) ? value : [value]) fields.push([name, String(v)]);
    }
    const status = read(fields);
    assert.equal(status.code, Code.FAILED_PRECONDITION);
    assert.equal(status.details, "wrong state: ünïcode\n100%");
    assert.equal(status.metadata.get("k"), "v");
    assert.deepEqual([...(status.metadata.get("b-bin") as Uint8Array)], [1, 2, 3]);
  });
});
