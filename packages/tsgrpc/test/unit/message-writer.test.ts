import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { getCompressor } from "../../src/protocol/compression.js";
import { MessageReader } from "../../src/protocol/message-reader.js";
import { MessageWriter } from "../../src/protocol/message-writer.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

const gzip = getCompressor("gzip")!;
const payload = Buffer.from("hello hello hello hello hello hello hello hello");

describe("MessageWriter", () => {
  test("identity frames with flag 0 and the payload as is", () => {
    const writer = new MessageWriter(1024, undefined);
    assert.equal(writer.encoding, undefined);
    const framed = writer.frame(payload);
    assert.equal(framed[0], 0);
    assert.equal(framed.readUInt32BE(1), payload.length);
    assert.deepEqual(framed.subarray(5), payload);
  });

  test("a compressor frames with flag 1 and compressed bytes", () => {
    const writer = new MessageWriter(1024, gzip);
    assert.equal(writer.encoding, "gzip");
    const framed = writer.frame(payload);
    assert.equal(framed[0], 1);
    assert.equal(framed.readUInt32BE(1), framed.length - 5);
    assert.deepEqual(Buffer.from(gzip.decompress(framed.subarray(5), 1024)), payload);
  });

  test("compress=false sends one message uncompressed on a compressing call", () => {
    const writer = new MessageWriter(1024, gzip);
    const plain = writer.frame(payload, false);
    assert.equal(plain[0], 0);
    assert.deepEqual(plain.subarray(5), payload);
    // the next message is compressed again
    assert.equal(writer.frame(payload)[0], 1);
  });

  test("frames read back through MessageReader", () => {
    const writer = new MessageWriter(1024, gzip);
    const got: string[] = [];
    const reader = new MessageReader(1024, gzip, (p) => got.push(Buffer.from(p).toString()));
    reader.push(Buffer.concat([writer.frame(Buffer.from("a")), writer.frame(Buffer.from("b"), false), writer.frame(new Uint8Array(0))]));
    reader.finish();
    assert.deepEqual(got, ["a", "b", ""]);
  });

  test("a message over the send limit is RESOURCE_EXHAUSTED", () => {
    for (const compressor of [undefined, gzip]) {
      const writer = new MessageWriter(10, compressor);
      assert.equal(writer.frame(Buffer.alloc(10)).length > 5, true, "exactly the limit is allowed");
      assert.throws(
        () => writer.frame(Buffer.alloc(11)),
        (err: unknown) => err instanceof RpcError && err.code === Code.RESOURCE_EXHAUSTED && /11/.test(err.details),
      );
      assert.throws(
        () => writer.frame(Buffer.alloc(11), false),
        (err: unknown) => err instanceof RpcError && err.code === Code.RESOURCE_EXHAUSTED,
      );
    }
  });
});
