import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { getCompressor } from "../../src/protocol/compression.js";
import { encodeEnvelope } from "../../src/protocol/envelope.js";
import { MessageReader } from "../../src/protocol/message-reader.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

function rpcErrorWith(code: Code): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

const gzip = getCompressor("gzip")!;
const deflate = getCompressor("deflate")!;

describe("MessageReader", () => {
  test("passes uncompressed messages through, split or whole", () => {
    const got: string[] = [];
    const reader = new MessageReader(1024, undefined, (p) => got.push(Buffer.from(p).toString()));
    const stream = Buffer.concat([encodeEnvelope(Buffer.from("one"), false), encodeEnvelope(Buffer.from("two"), false)]);
    for (const byte of stream) reader.push(Buffer.from([byte]));
    reader.push(encodeEnvelope(Buffer.from("three"), false));
    reader.finish();
    assert.deepEqual(got, ["one", "two", "three"]);
  });

  test("decompresses messages flagged compressed with the negotiated codec", () => {
    for (const codec of [gzip, deflate]) {
      const got: string[] = [];
      const reader = new MessageReader(1024, codec, (p) => got.push(Buffer.from(p).toString()));
      reader.push(encodeEnvelope(codec.compress(Buffer.from("squeezed")), true));
      // with an encoding negotiated, the sender may still send single messages uncompressed
      reader.push(encodeEnvelope(Buffer.from("plain"), false));
      reader.finish();
      assert.deepEqual(got, ["squeezed", "plain"], codec.name);
    }
  });

  test("a compressed flag without a negotiated encoding is INTERNAL", () => {
    const got: Uint8Array[] = [];
    const reader = new MessageReader(1024, undefined, (p) => got.push(p));
    assert.throws(() => reader.push(encodeEnvelope(gzip.compress(Buffer.from("x")), true)), rpcErrorWith(Code.INTERNAL));
    assert.equal(got.length, 0);
  });

  test("a message that does not decompress is INTERNAL", () => {
    const reader = new MessageReader(1024, gzip, () => assert.fail("no message expected"));
    assert.throws(() => reader.push(encodeEnvelope(Buffer.from("not gzip"), true)), rpcErrorWith(Code.INTERNAL));
  });

  test("a message in the wrong codec is INTERNAL", () => {
    const reader = new MessageReader(1024, deflate, () => assert.fail("no message expected"));
    assert.throws(() => reader.push(encodeEnvelope(gzip.compress(Buffer.from("x")), true)), rpcErrorWith(Code.INTERNAL));
  });

  test("the receive limit holds for the message as sent", () => {
    const reader = new MessageReader(10, undefined, () => assert.fail("no message expected"));
    assert.throws(() => reader.push(encodeEnvelope(Buffer.alloc(11), false)), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
  });

  test("the receive limit holds after decompression", () => {
    const compressed = gzip.compress(Buffer.alloc(5000));
    assert.ok(compressed.length < 100);
    const reader = new MessageReader(100, gzip, () => assert.fail("no message expected"));
    assert.throws(() => reader.push(encodeEnvelope(compressed, true)), rpcErrorWith(Code.RESOURCE_EXHAUSTED));

    const got: Uint8Array[] = [];
    const roomy = new MessageReader(5000, gzip, (p) => got.push(p));
    roomy.push(encodeEnvelope(compressed, true));
    assert.equal(got[0]!.length, 5000);
  });

  test("finish throws INTERNAL after a truncated message", () => {
    const framed = encodeEnvelope(Buffer.from("partial"), false);
    for (const cut of [1, 5, framed.length - 1]) {
      const reader = new MessageReader(1024, undefined, () => assert.fail("no message expected"));
      reader.push(framed.subarray(0, cut));
      assert.throws(() => reader.finish(), rpcErrorWith(Code.INTERNAL));
    }
  });

  test("finish is quiet on a clean end, even with no messages", () => {
    new MessageReader(1024, undefined, () => {}).finish();
    const reader = new MessageReader(1024, undefined, () => {});
    reader.push(encodeEnvelope(new Uint8Array(0), false));
    assert.doesNotThrow(() => reader.finish());
  });
});
