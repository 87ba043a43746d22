import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { RawHttp2Client } from "../helpers/raw-http2-client.js";
import { CLIENT_STREAM, decodeResponse, echoImpl, encodeRequest, SERVER_STREAM, sleep, startTestServer, UNARY } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/** A serialized EchoRequest of exactly `size` bytes (field 3, bytes, 2-byte varint length; size 131..16386). */
function requestOfSize(size: number): Uint8Array {
  const body = size - 3;
  const out = new Uint8Array(size);
  out.set([0x1a, (body & 0x7f) | 0x80, body >> 7]);
  return out;
}

test("maxReceiveMessageLength: a request one byte over is RESOURCE_EXHAUSTED, one at the limit is served", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl), { maxReceiveMessageLength: 1000 });
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const atLimit = await client.call(UNARY, { messages: [requestOfSize(1000)] });
  assert.equal(atLimit.grpcStatus, 0, atLimit.grpcMessage);
  assert.equal(decodeResponse(atLimit.messages[0]!.payload).payload.length, 997);

  const over = await client.call(UNARY, { messages: [requestOfSize(1001)] });
  assert.equal(over.grpcStatus, Code.RESOURCE_EXHAUSTED, over.grpcMessage);
  assert.equal(over.trailersOnly, true);

  // In a stream, the first message over the limit ends the call; the handler sees it as an error.
  const stream = await client.call(CLIENT_STREAM, { messages: [requestOfSize(200), requestOfSize(1001)] });
  assert.equal(stream.grpcStatus, Code.RESOURCE_EXHAUSTED, stream.grpcMessage);

  const after = await client.call(UNARY, { messages: [encodeRequest({ message: "still fine" })] });
  assert.equal(after.grpcStatus, 0);
});

test("maxSendMessageLength: a response over it is RESOURCE_EXHAUSTED (Trailers-Only when nothing was sent yet)", T, async (t) => {
  const { port, close } = await startTestServer(
    (s) =>
      s.addService(Echo, {
        unary: (request) => ({ payload: new Uint8Array(request.count) }),
        async *serverStream(request) {
          yield { payload: new Uint8Array(10) };
          yield { payload: new Uint8Array(10) };
          yield { payload: new Uint8Array(request.count) };
          yield { payload: new Uint8Array(10) };
        },
      }),
    { maxSendMessageLength: 500 },
  );
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  // An EchoResponse with an N-byte payload serializes to N+3 bytes for 128 <= N < 16384.
  const fits = await client.call(UNARY, { messages: [encodeRequest({ count: 497 })] });
  assert.equal(fits.grpcStatus, 0, fits.grpcMessage);
  assert.equal(fits.messages[0]!.payload.length, 500);

  const tooBig = await client.call(UNARY, { messages: [encodeRequest({ count: 498 })] });
  assert.equal(tooBig.grpcStatus, Code.RESOURCE_EXHAUSTED, tooBig.grpcMessage);
  assert.equal(tooBig.messages.length, 0);
  assert.equal(tooBig.trailersOnly, true);

  const stream = await client.call(SERVER_STREAM, { messages: [encodeRequest({ count: 5000 })] });
  assert.equal(stream.messages.length, 2, "the messages before the big one were sent, none after it");
  assert.equal(stream.grpcStatus, Code.RESOURCE_EXHAUSTED, stream.grpcMessage);
});

test("the default receive limit is 4 MiB, checked from the length prefix before the body arrives", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const prefix = (length: number): Buffer => {
    const out = Buffer.alloc(5);
    out.writeUInt32BE(length, 1);
    return out;
  };
  // Only the prefix of a 4 MiB + 1 message, stream left open: refused at once.
  const over = client.start(UNARY);
  over.write(prefix(4 * 1024 * 1024 + 1));
  const head = await over.headersReceived;
  assert.equal(head["grpc-status"], String(Code.RESOURCE_EXHAUSTED));
  await over.response;

  // The prefix of an exactly 4 MiB message: the server waits for the body.
  const atLimit = client.start(UNARY);
  atLimit.write(prefix(4 * 1024 * 1024));
  const answered = await Promise.race([atLimit.headersReceived.then(() => true), sleep(200).then(() => false)]);
  assert.equal(answered, false, "a message at the limit is not refused");
  atLimit.cancel();
  await atLimit.response;
});

test("request bodies the server never reads (refused calls) do not use up the connection's flow-control window", { timeout: 20_000 }, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  // 2 MiB per call, 24 calls: three times the server's 8 MiB connection window.
  const big = encodeRequest({ payload: new Uint8Array(1024 * 1024) });
  for (let i = 0; i < 24; i++) {
    const refused = await client.call(i % 2 === 0 ? "/no.Such/Method" : UNARY, { messages: [big, big] });
    assert.equal(refused.grpcStatus, Code.UNIMPLEMENTED, `call ${i}`);
  }
  const served = await client.call(UNARY, { messages: [big] });
  assert.equal(served.grpcStatus, 0, served.grpcMessage);
});
