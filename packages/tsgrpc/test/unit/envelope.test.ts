import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Code } from "../../src/core/code.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { ENVELOPE_HEADER_LENGTH, EnvelopeDecoder, encodeEnvelope } from "../../src/protocol/envelope.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

interface Received {
  payload: Buffer;
  compressed: boolean;
}

function collector(maxLength = 4 * 1024 * 1024): { decoder: EnvelopeDecoder; received: Received[] } {
  const received: Received[] = [];
  const decoder = new EnvelopeDecoder(maxLength, (payload, compressed) => {
    // Copy: the decoder may hand out views of the pushed chunk.
    received.push({ payload: Buffer.from(payload), compressed });
  });
  return { decoder, received };
}

function rpcErrorWith(code: Code, pattern?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.details, pattern);
    return true;
  };
}

describe("encodeEnvelope", () => {
  test("writes flag, big-endian length and payload", () => {
    const framed = encodeEnvelope(Buffer.from("hello"), false);
    assert.deepEqual([...framed], [0, 0, 0, 0, 5, ...Buffer.from("hello")]);
    assert.equal(ENVELOPE_HEADER_LENGTH, 5);
  });

  test("sets flag 1 for compressed payloads", () => {
    const framed = encodeEnvelope(new Uint8Array([9]), true);
    assert.deepEqual([...framed], [1, 0, 0, 0, 1, 9]);
  });

  test("encodes lengths above 2^24 in all four bytes", () => {
    const payload = new Uint8Array(0x01020304);
    const framed = encodeEnvelope(payload, false);
    assert.deepEqual([...framed.subarray(0, 5)], [0, 1, 2, 3, 4]);
    assert.equal(framed.length, 0x01020304 + 5);
  });

  test("frames an empty payload as a bare header", () => {
    assert.deepEqual([...encodeEnvelope(new Uint8Array(0), false)], [0, 0, 0, 0, 0]);
  });
});

describe("EnvelopeDecoder", () => {
  test("round trips one message pushed whole", () => {
    const { decoder, received } = collector();
    decoder.push(encodeEnvelope(Buffer.from("payload"), false));
    assert.deepEqual(received, [{ payload: Buffer.from("payload"), compressed: false }]);
    assert.equal(decoder.hasPartialMessage, false);
  });

  test("reports the compressed flag of each message", () => {
    const { decoder, received } = collector();
    decoder.push(Buffer.concat([encodeEnvelope(Buffer.from("a"), true), encodeEnvelope(Buffer.from("b"), false)]));
    assert.deepEqual(
      received.map((r) => [r.payload.toString(), r.compressed]),
      [
        ["a", true],
        ["b", false],
      ],
    );
  });

  test("reassembles a message pushed one byte at a time", () => {
    const { decoder, received } = collector();
    const payload = Buffer.from("a message split across many DATA frames");
    const framed = encodeEnvelope(payload, true);
    for (let i = 0; i < framed.length; i++) {
      assert.equal(received.length, 0, `message delivered early, after ${i} bytes`);
      decoder.push(framed.subarray(i, i + 1));
      if (i < framed.length - 1) assert.equal(decoder.hasPartialMessage, true);
    }
    assert.deepEqual(received, [{ payload, compressed: true }]);
    assert.equal(decoder.hasPartialMessage, false);
  });

  test("reassembles several messages across arbitrary chunk boundaries", () => {
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(i * 7, i + 1));
    const stream = Buffer.concat(payloads.map((p, i) => encodeEnvelope(p, i % 3 === 0)));
    for (const chunkSize of [1, 2, 3, 4, 5, 6, 7, 11, 64, 1000]) {
      const { decoder, received } = collector();
      for (let offset = 0; offset < stream.length; offset += chunkSize) {
        decoder.push(stream.subarray(offset, offset + chunkSize));
      }
      assert.deepEqual(
        received.map((r) => r.payload),
        payloads,
        `chunk size ${chunkSize}`,
      );
      assert.deepEqual(
        received.map((r) => r.compressed),
        payloads.map((_, i) => i % 3 === 0),
      );
      assert.equal(decoder.hasPartialMessage, false);
    }
  });

  test("decodes many messages from one chunk in order", () => {
    const { decoder, received } = collector();
    const payloads = Array.from({ length: 100 }, (_, i) => Buffer.from(`message-${i}`));
    decoder.push(Buffer.concat(payloads.map((p) => encodeEnvelope(p, false))));
    assert.deepEqual(
      received.map((r) => r.payload.toString()),
      payloads.map((p) => p.toString()),
    );
  });

  test("decodes a chunk that finishes one message and starts the next", () => {
    const { decoder, received } = collector();
    const stream = Buffer.concat([encodeEnvelope(Buffer.from("first"), false), encodeEnvelope(Buffer.from("second"), false)]);
    decoder.push(stream.subarray(0, 3));
    decoder.push(stream.subarray(3, 14));
    assert.deepEqual(received.map((r) => r.payload.toString()), ["first"]);
    assert.equal(decoder.hasPartialMessage, true);
    decoder.push(stream.subarray(14));
    assert.deepEqual(received.map((r) => r.payload.toString()), ["first", "second"]);
    assert.equal(decoder.hasPartialMessage, false);
  });

  test("delivers zero-length messages", () => {
    const { decoder, received } = collector();
    const empty = encodeEnvelope(new Uint8Array(0), false);
    decoder.push(Buffer.concat([empty, empty, encodeEnvelope(Buffer.from("x"), false), empty]));
    assert.deepEqual(
      received.map((r) => r.payload.length),
      [0, 0, 1, 0],
    );
    // and a zero-length message whose header is split
    const split = collector();
    split.decoder.push(empty.subarray(0, 2));
    assert.equal(split.received.length, 0);
    split.decoder.push(empty.subarray(2));
    assert.equal(split.received.length, 1);
    assert.equal(split.received[0]!.payload.length, 0);
    assert.equal(split.decoder.hasPartialMessage, false);
  });

  test("ignores empty chunks", () => {
    const { decoder, received } = collector();
    decoder.push(Buffer.alloc(0));
    assert.equal(decoder.hasPartialMessage, false);
    const framed = encodeEnvelope(Buffer.from("abc"), false);
    decoder.push(framed.subarray(0, 4));
    decoder.push(Buffer.alloc(0));
    decoder.push(framed.subarray(4));
    assert.deepEqual(received.map((r) => r.payload.toString()), ["abc"]);
  });

  for (const flag of [2, 3, 0x80, 0xff]) {
    test(`flag ${flag} is INTERNAL, whole or split`, () => {
      const framed = encodeEnvelope(Buffer.from("x"), false);
      framed[0] = flag;
      const whole = collector();
      assert.throws(() => whole.decoder.push(framed), rpcErrorWith(Code.INTERNAL, /flag/));
      assert.equal(whole.received.length, 0);

      const split = collector();
      split.decoder.push(framed.subarray(0, 3));
      assert.throws(() => split.decoder.push(framed.subarray(3)), rpcErrorWith(Code.INTERNAL));
      assert.equal(split.received.length, 0);
    });
  }

  test("a bad flag after a good message still fails", () => {
    const { decoder, received } = collector();
    const bad = encodeEnvelope(Buffer.from("y"), false);
    bad[0] = 2;
    assert.throws(
      () => decoder.push(Buffer.concat([encodeEnvelope(Buffer.from("x"), false), bad])),
      rpcErrorWith(Code.INTERNAL),
    );
    assert.deepEqual(received.map((r) => r.payload.toString()), ["x"]);
  });

  test("length over max is RESOURCE_EXHAUSTED as soon as the header arrives", () => {
    const { decoder, received } = collector(10);
    const header = Buffer.from([0, 0, 0, 0, 11]);
    assert.throws(() => decoder.push(header), rpcErrorWith(Code.RESOURCE_EXHAUSTED, /11/));
    assert.equal(received.length, 0);
  });

  test("length over max is detected with the header split across chunks", () => {
    const { decoder } = collector(1000);
    decoder.push(Buffer.from([0, 0x7f]));
    assert.throws(() => decoder.push(Buffer.from([0xff, 0xff, 0xff])), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
  });

  test("length over max after a buffered partial message", () => {
    const { decoder, received } = collector(10);
    const ok = encodeEnvelope(Buffer.alloc(10, 1), false);
    decoder.push(ok.subarray(0, 7));
    assert.throws(
      () => decoder.push(Buffer.concat([ok.subarray(7), Buffer.from([0, 0, 0, 0, 200])])),
      rpcErrorWith(Code.RESOURCE_EXHAUSTED),
    );
    assert.equal(received.length, 1);
    assert.equal(received[0]!.payload.length, 10);
  });

  test("a message of exactly max length is accepted", () => {
    const { decoder, received } = collector(10);
    decoder.push(encodeEnvelope(Buffer.alloc(10, 3), false));
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]!.payload, Buffer.alloc(10, 3));
  });

  test("maximum 0 allows only empty messages", () => {
    const { decoder, received } = collector(0);
    decoder.push(encodeEnvelope(new Uint8Array(0), false));
    assert.equal(received.length, 1);
    assert.throws(() => decoder.push(encodeEnvelope(new Uint8Array(1), false)), rpcErrorWith(Code.RESOURCE_EXHAUSTED));
  });

  test("hasPartialMessage reports truncation in the header and in the body", () => {
    const framed = encodeEnvelope(Buffer.from("truncated"), false);
    for (const cut of [1, 4, 5, 6, framed.length - 1]) {
      const { decoder, received } = collector();
      decoder.push(framed.subarray(0, cut));
      assert.equal(decoder.hasPartialMessage, true, `cut at ${cut}`);
      assert.equal(received.length, 0);
    }
    const { decoder } = collector();
    decoder.push(framed);
    assert.equal(decoder.hasPartialMessage, false);
    decoder.push(framed.subarray(0, 2));
    assert.equal(decoder.hasPartialMessage, true);
  });

  test("hands out views of the pushed chunk when a message lies inside it", () => {
    const views: Buffer[] = [];
    const decoder = new EnvelopeDecoder(100, (payload) => views.push(payload));
    const chunk = Buffer.concat([encodeEnvelope(Buffer.from("one"), false), encodeEnvelope(Buffer.from("two"), false)]);
    decoder.push(chunk);
    assert.equal(views.length, 2);
    for (const view of views) assert.equal(view.buffer, chunk.buffer, "payload should share the chunk's memory");
    assert.equal(views[0]!.byteOffset, chunk.byteOffset + 5);
    assert.equal(views[1]!.byteOffset, chunk.byteOffset + 13);
  });

  test("payloads assembled from several chunks are independent of later pushes", () => {
    const views: Buffer[] = [];
    const decoder = new EnvelopeDecoder(100, (payload) => views.push(payload));
    const framed = encodeEnvelope(Buffer.from("abcdef"), false);
    const c1 = Buffer.from(framed.subarray(0, 7));
    const c2 = Buffer.from(framed.subarray(7));
    decoder.push(c1);
    decoder.push(c2);
    c1.fill(0);
    c2.fill(0);
    assert.equal(views[0]!.toString(), "abcdef");
  });

  test("an error thrown by the handler propagates out of push", () => {
    const decoder = new EnvelopeDecoder(100, () => {
      throw new RpcError(Code.INTERNAL, "handler says no");
    });
    assert.throws(() => decoder.push(encodeEnvelope(Buffer.from("x"), false)), /handler says no/);
  });
});
