import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import { test, type TestContext } from "node:test";
import * as zlib from "node:zlib";
import { Code, createClient, sendUncompressed, streamUnary, unaryUnary, type ChannelOptions } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, countingProxy, echoClient, grpcFrame, rawServer, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { decodeRequest, encodeRequest } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/** 256 KiB that compress to almost nothing. */
const COMPRESSIBLE = new Uint8Array(256 * 1024).fill(7);

interface SeenRequest {
  encoding: string | undefined;
  flags: number[];
  payloads: Uint8Array[];
}

/**
 * A raw HTTP/2 server that records, per request, grpc-encoding and each message's compressed flag and
 * decompressed payload, and answers OK with one empty message. `accept` is its grpc-accept-encoding.
 */
async function recordingRawServer(t: TestContext, accept = "identity,gzip,deflate") {
  const seen: SeenRequest[] = [];
  const port = await rawServer(t, (stream, headers) => {
    const encoding = headers["grpc-encoding"] as string | undefined;
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const request: SeenRequest = { encoding, flags: [], payloads: [] };
      for (let offset = 0; offset + 5 <= body.length; ) {
        const flag = body[offset]!;
        const length = body.readUInt32BE(offset + 1);
        const payload = body.subarray(offset + 5, offset + 5 + length);
        request.flags.push(flag);
        request.payloads.push(flag === 1 ? decompress(encoding, payload) : payload);
        offset += 5 + length;
      }
      seen.push(request);
      if (encoding !== undefined && !accept.split(",").includes(encoding)) {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": accept, "grpc-status": "12", "grpc-message": "unsupported" },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": accept }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame(new Uint8Array()));
    });
  });
  return { port, seen };
}

function assertSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  assert.ok(actual, "no bytes");
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `got ${actual.length} bytes, not the ${expected.length} expected`);
}

function decompress(encoding: string | undefined, payload: Uint8Array): Uint8Array {
  if (encoding === "gzip") return zlib.gunzipSync(payload);
  if (encoding === "deflate") return zlib.inflateSync(payload);
  throw new Error(`compressed message with grpc-encoding ${encoding}`);
}

function rawCall(t: TestContext, port: number, options?: ChannelOptions) {
  return unaryUnary(channelFor(t, port, options), "/raw.Compress/Call");
}

test("per-call compression: gzip and deflate go out compressed with grpc-encoding; identity does not", T, async (t) => {
  const { port, seen } = await recordingRawServer(t);
  const call = rawCall(t, port);
  for (const compression of ["gzip", "deflate"]) {
    await call(COMPRESSIBLE, { compression });
    const request = seen.at(-1)!;
    assert.equal(request.encoding, compression);
    assert.deepEqual(request.flags, [1]);
    assertSameBytes(request.payloads[0], COMPRESSIBLE);
  }
  await call(COMPRESSIBLE, { compression: "identity" });
  await call(COMPRESSIBLE);
  for (const request of seen.slice(-2)) {
    assert.equal(request.encoding, undefined);
    assert.deepEqual(request.flags, [0]);
  }
});

test("channel default compression applies to every call; a call may switch it off", T, async (t) => {
  const { port, seen } = await recordingRawServer(t);
  const call = rawCall(t, port, { compression: "gzip" });
  await call(COMPRESSIBLE);
  await call(COMPRESSIBLE, { compression: "deflate" });
  await call(COMPRESSIBLE, { compression: "identity" });
  assert.deepEqual(seen.map((r) => [r.encoding, r.flags[0]]), [["gzip", 1], ["deflate", 1], [undefined, 0]]);
  assertSameBytes(seen[0]!.payloads[0], COMPRESSIBLE);
});

test("an unknown per-call compression is a usage error, thrown before anything is sent", T, async (t) => {
  const { port, seen } = await recordingRawServer(t);
  const call = rawCall(t, port);
  assert.throws(() => call(COMPRESSIBLE, { compression: "brotli" }), /unknown compression "brotli"/);
  await call(new Uint8Array([1]));
  assert.equal(seen.length, 1);
});

test("client-streaming: every message of a compressed call is compressed", T, async (t) => {
  const { port, seen } = await recordingRawServer(t);
  const channel = channelFor(t, port);
  const call = streamUnary(channel, "/raw.Compress/Stream");
  await call([new Uint8Array([1, 2, 3]), COMPRESSIBLE, new Uint8Array()], { compression: "gzip" });
  assert.equal(seen[0]!.encoding, "gzip");
  assert.deepEqual(seen[0]!.flags, [1, 1, 1]);
  assert.deepEqual(seen[0]!.payloads.map((p) => p.length), [3, COMPRESSIBLE.length, 0]);
});

test("sendUncompressed switches compression off for one message of a compressed call", T, async (t) => {
  const { port, seen } = await recordingRawServer(t);
  const call = streamUnary(channelFor(t, port), "/raw.Compress/Mixed");
  const plain = sendUncompressed(Buffer.from("not compressed"));
  await call([Buffer.from("first"), plain, Buffer.from("third")], { compression: "gzip" });
  assert.equal(seen[0]!.encoding, "gzip");
  assert.deepEqual(seen[0]!.flags, [1, 0, 1]);
  assert.deepEqual(seen[0]!.payloads.map((p) => Buffer.from(p).toString()), ["first", "not compressed", "third"]);
});

test("a server that does not take the encoding: UNIMPLEMENTED once, then the client stops compressing", T, async (t) => {
  const { port, seen } = await recordingRawServer(t, "identity");
  const call = rawCall(t, port, { compression: "gzip" });
  await rejectsWith(call(COMPRESSIBLE), Code.UNIMPLEMENTED);
  // The Trailers-Only refusal carried grpc-accept-encoding: the next calls go out uncompressed.
  await call(COMPRESSIBLE);
  await call(COMPRESSIBLE, { compression: "gzip" });
  assert.deepEqual(seen.map((r) => r.encoding), ["gzip", undefined, undefined]);
  assertSameBytes(seen[2]!.payloads[0], COMPRESSIBLE);
});

test("end to end with tsgrpc's server: compressed requests and responses round trip and shrink on the wire", T, async (t) => {
  const { port } = await serve(t, undefined, { compression: "gzip" });
  const proxy = await countingProxy(t, port);
  const { client } = echoClient(t, proxy.port, { compression: "deflate" });
  const response = await client.unary({ message: "big", payload: COMPRESSIBLE });
  assert.equal(response.message, "big");
  assertSameBytes(response.payload, COMPRESSIBLE);
  // 256 KiB each way uncompressed; compressed, both directions together stay far below one copy.
  assert.ok(proxy.up() < 32 * 1024, `request side sent ${proxy.up()} bytes`);
  assert.ok(proxy.down() < 32 * 1024, `response side sent ${proxy.down()} bytes`);

  const stream = client.serverStream({ message: "s", count: 20 });
  let n = 0;
  for await (const r of stream) assert.equal(r.index, n++);
  assert.equal(n, 20);
});

test("uncompressed control: the same exchange without compression moves the full payload", T, async (t) => {
  const { port } = await serve(t);
  const proxy = await countingProxy(t, port);
  const { client } = echoClient(t, proxy.port);
  const response = await client.unary({ payload: COMPRESSIBLE });
  assertSameBytes(response.payload, COMPRESSIBLE);
  assert.ok(proxy.up() > COMPRESSIBLE.length && proxy.down() > COMPRESSIBLE.length);
});

test("per-call compression against tsgrpc's server reaches the handler intact", T, async (t) => {
  const payloads: number[] = [];
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      unary: (r) => {
        payloads.push(r.payload.length);
        return { message: r.message };
      },
    }),
  );
  const client = createClient(Echo, channelFor(t, port));
  for (const compression of ["gzip", "deflate", "identity"]) {
    assert.equal((await client.unary({ message: compression, payload: COMPRESSIBLE }, { compression })).message, compression);
  }
  assert.deepEqual(payloads, [COMPRESSIBLE.length, COMPRESSIBLE.length, COMPRESSIBLE.length]);
});

// ---- bad responses -----------------------------------------------------------------------------------

type Responder = (stream: http2.ServerHttp2Stream) => void;

async function respondingServer(t: TestContext, respond: Responder): Promise<number> {
  return rawServer(t, (stream) => {
    stream.on("data", () => undefined);
    stream.on("end", () => respond(stream));
  });
}

function respondWith(headers: http2.OutgoingHttpHeaders, body: Uint8Array): Responder {
  return (stream) => {
    stream.respond({ ":status": 200, "content-type": "application/grpc", ...headers }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(body);
  };
}

test("a response in an encoding the client does not support is INTERNAL", T, async (t) => {
  const port = await respondingServer(t, respondWith({ "grpc-encoding": "snappy" }, grpcFrame(new Uint8Array([1, 2]), true)));
  await rejectsWith(rawCall(t, port)(encodeRequest()), Code.INTERNAL, /snappy/);
});

test("a compressed flag without grpc-encoding is INTERNAL", T, async (t) => {
  const port = await respondingServer(t, respondWith({}, grpcFrame(zlib.gzipSync(Buffer.from("x")), true)));
  await rejectsWith(rawCall(t, port)(encodeRequest()), Code.INTERNAL);
});

test("a gzip response that does not decompress is INTERNAL", T, async (t) => {
  const port = await respondingServer(t, respondWith({ "grpc-encoding": "gzip" }, grpcFrame(Buffer.from("definitely not gzip"), true)));
  await rejectsWith(rawCall(t, port)(encodeRequest()), Code.INTERNAL);
});

test("a response with grpc-encoding but uncompressed messages is fine", T, async (t) => {
  const port = await respondingServer(t, respondWith({ "grpc-encoding": "gzip" }, grpcFrame(Buffer.from("plain"))));
  const bytes = await rawCall(t, port)(encodeRequest());
  assert.equal(Buffer.from(bytes).toString(), "plain");
});

test("the request payload of a compressed call is what the server decodes", T, async (t) => {
  const { port, seen } = await recordingRawServer(t);
  await rawCall(t, port)(encodeRequest({ message: "héllo", count: 3 }), { compression: "gzip" });
  const decoded = decodeRequest(seen[0]!.payloads[0]!);
  assert.equal(decoded.message, "héllo");
  assert.equal(decoded.count, 3);
});
