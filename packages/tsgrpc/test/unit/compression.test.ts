import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { Code } from "../../src/core/code.js";
import { RpcError } from "../../src/core/rpc-error.js";
import {
  acceptEncodingHeader,
  decompressMessage,
  getCompressor,
  parseAcceptEncoding,
  registerCompressor,
  supportedEncodings,
  type Compressor,
} from "../../src/protocol/compression.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

function rpcErrorWith(code: Code): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

const sample = Buffer.from("the quick brown fox jumps over the lazy dog ".repeat(50));

describe("built-in compressors", () => {
  for (const name of ["gzip", "deflate"]) {
    test(`${name} round trips`, () => {
      const c = getCompressor(name)!;
      assert.equal(c.name, name);
      const compressed = c.compress(sample);
      assert.ok(compressed.length < sample.length, "repetitive text should shrink");
      assert.deepEqual(Buffer.from(c.decompress(compressed, sample.length)), sample);
      assert.deepEqual(Buffer.from(decompressMessage(c, compressed, 1 << 20)), sample);
    });

    test(`${name} round trips empty and binary payloads`, () => {
      const c = getCompressor(name)!;
      assert.equal(c.decompress(c.compress(new Uint8Array(0)), 100).length, 0);
      const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      assert.deepEqual(Buffer.from(c.decompress(c.compress(binary), 256)), binary);
    });

    test(`${name} output is what zlib expects on the wire`, () => {
      const c = getCompressor(name)!;
      const compressed = Buffer.from(c.compress(sample));
      const inflated = name === "gzip" ? zlib.gunzipSync(compressed) : zlib.inflateSync(compressed);
      assert.deepEqual(inflated, sample);
      // and it reads what another zlib writes
      const foreign = name === "gzip" ? zlib.gzipSync(sample, { level: 9 }) : zlib.deflateSync(sample, { level: 1 });
      assert.deepEqual(Buffer.from(c.decompress(foreign, sample.length)), sample);
    });

    test(`${name}: a decompression bomb over maxLength is RESOURCE_EXHAUSTED`, () => {
      const c = getCompressor(name)!;
      const bomb = c.compress(Buffer.alloc(10 * 1024 * 1024));
      assert.ok(bomb.length < 64 * 1024);
      assert.throws(() => decompressMessage(c, bomb, 1024 * 1024), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
    });

    test(`${name}: exactly maxLength decompresses, one byte more does not`, () => {
      const c = getCompressor(name)!;
      const data = c.compress(Buffer.alloc(1000, 7));
      assert.equal(decompressMessage(c, data, 1000).length, 1000);
      assert.throws(() => decompressMessage(c, data, 999), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
    });

    test(`${name}: maxLength 0 admits only empty messages`, () => {
      const c = getCompressor(name)!;
      assert.equal(decompressMessage(c, c.compress(new Uint8Array(0)), 0).length, 0);
      assert.throws(() => decompressMessage(c, c.compress(new Uint8Array([1])), 0), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
    });

    test(`${name}: garbage is INTERNAL`, () => {
      const c = getCompressor(name)!;
      assert.throws(() => decompressMessage(c, Buffer.from("this is not compressed at all"), 1 << 20), rpcErrorWith(Code.INTERNAL));
    });

    test(`${name}: truncated input is INTERNAL`, () => {
      const c = getCompressor(name)!;
      const compressed = c.compress(sample);
      assert.throws(() => decompressMessage(c, compressed.subarray(0, compressed.length - 8), 1 << 20), rpcErrorWith(Code.INTERNAL));
    });
  }

  test("gzip and deflate are not interchangeable", () => {
    const gz = getCompressor("gzip")!.compress(sample);
    assert.throws(() => decompressMessage(getCompressor("deflate")!, gz, 1 << 20), rpcErrorWith(Code.INTERNAL));
  });

  test("identity and unknown names have no compressor", () => {
    assert.equal(getCompressor("identity"), undefined);
    assert.equal(getCompressor("snappy-unknown"), undefined);
    assert.equal(getCompressor("GZIP"), undefined);
  });
});

describe("decompressMessage with custom compressors", () => {
  test("a RangeError from the compressor is RESOURCE_EXHAUSTED", () => {
    const c: Compressor = { name: "t", compress: (d) => d, decompress: () => { throw new RangeError("too big"); } };
    assert.throws(() => decompressMessage(c, new Uint8Array(1), 10), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
  });

  test("any other failure is INTERNAL and names the encoding", () => {
    const c: Compressor = { name: "broken", compress: (d) => d, decompress: () => { throw new Error("boom"); } };
    assert.throws(() => decompressMessage(c, new Uint8Array(1), 10), (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, Code.INTERNAL);
      assert.match(err.details, /broken/);
      assert.match(err.details, /boom/);
      return true;
    });
  });

  test("a compressor that ignores maxLength is still held to it", () => {
    const c: Compressor = { name: "lax", compress: (d) => d, decompress: () => new Uint8Array(100) };
    assert.throws(() => decompressMessage(c, new Uint8Array(1), 10), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
    assert.equal(decompressMessage(c, new Uint8Array(1), 100).length, 100);
  });

  test("a compressor that throws a non-Error still maps to INTERNAL", () => {
    const c: Compressor = { name: "odd", compress: (d) => d, decompress: () => { throw "a string"; } };
    assert.throws(() => decompressMessage(c, new Uint8Array(1), 10), rpcErrorWith(Code.INTERNAL));
    const n: Compressor = { name: "odd", compress: (d) => d, decompress: () => { throw null; } };
    assert.throws(() => decompressMessage(n, new Uint8Array(1), 10), rpcErrorWith(Code.INTERNAL));
  });
});

describe("encoding negotiation", () => {
  test("supportedEncodings lists identity first, then the built-ins", () => {
    const names = supportedEncodings();
    assert.equal(names[0], "identity");
    assert.ok(names.includes("gzip"));
    assert.ok(names.includes("deflate"));
    assert.equal(acceptEncodingHeader(), names.join(","));
    assert.doesNotMatch(acceptEncodingHeader(), / /);
  });

  test("registerCompressor adds a codec to the registry and the header", () => {
    const custom: Compressor = { name: "x-test-reverse", compress: (d) => Uint8Array.from(d).reverse(), decompress: (d) => Uint8Array.from(d).reverse() };
    registerCompressor(custom);
    assert.equal(getCompressor("x-test-reverse"), custom);
    assert.ok(supportedEncodings().includes("x-test-reverse"));
    assert.ok(acceptEncodingHeader().split(",").includes("x-test-reverse"));
    assert.deepEqual([...decompressMessage(custom, new Uint8Array([1, 2, 3]), 3)], [3, 2, 1]);
  });

  test("parseAcceptEncoding always includes identity", () => {
    assert.deepEqual([...parseAcceptEncoding(undefined)], ["identity"]);
    assert.deepEqual([...parseAcceptEncoding("")], ["identity"]);
    assert.deepEqual([...parseAcceptEncoding("gzip")].sort(), ["gzip", "identity"]);
  });

  test("parseAcceptEncoding tolerates spaces and empty items", () => {
    const set = parseAcceptEncoding("identity, gzip,deflate ,  br ,,");
    assert.deepEqual([...set].sort(), ["br", "deflate", "gzip", "identity"]);
    assert.equal(set.has(" gzip"), false);
    assert.equal(set.has(""), false);
  });
});
