import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Code, createPushable, type ServerOptions } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { echoClient, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl, sleep } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const MiB = 1024 * 1024;

/**
 * The encoded size of EchoResponse{payload: n bytes}: field tag, varint length, bytes. Used to make
 * messages of an exact size.
 */
function responseSize(payloadLength: number): number {
  let varint = 1;
  for (let v = payloadLength; v >= 0x80; v = Math.floor(v / 128)) varint++;
  return 1 + varint + payloadLength;
}

/** The payload length that makes EchoResponse exactly `size` bytes. */
function payloadFor(size: number): number {
  let n = size - 2;
  while (responseSize(n) > size) n--;
  assert.equal(responseSize(n), size);
  return n;
}

/** Echo whose responses carry `count` payload bytes (so a tiny request makes a big response). */
async function sizedServer(t: TestContext, options: ServerOptions = {}) {
  const received: number[] = [];
  const { port } = await serve(
    t,
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: (r) => {
          received.push(r.payload.length);
          return { payload: new Uint8Array(r.count).fill(1) };
        },
        async *serverStream(r) {
          for (const size of [10, 100, r.count, 10]) yield { payload: new Uint8Array(size) };
        },
        async clientStream(requests) {
          for await (const r of requests) received.push(r.payload.length);
          return {};
        },
      }),
    options,
  );
  return { port, received };
}

test("maxReceiveMessageLength: a response over the limit is RESOURCE_EXHAUSTED; at the limit it is fine", T, async (t) => {
  const { port } = await sizedServer(t);
  const { client } = echoClient(t, port, { maxReceiveMessageLength: 1000 });
  const atLimit = await client.unary({ count: payloadFor(1000) });
  assert.equal(atLimit.payload.length, payloadFor(1000));
  await rejectsWith(client.unary({ count: payloadFor(1001) }), Code.RESOURCE_EXHAUSTED);
  // The channel is fine afterwards.
  assert.equal((await client.unary({ count: 5 })).payload.length, 5);
});

test("maxReceiveMessageLength on a server stream: messages before the big one arrive, then RESOURCE_EXHAUSTED", T, async (t) => {
  const { port } = await sizedServer(t);
  const { client } = echoClient(t, port, { maxReceiveMessageLength: 1000 });
  const sizes: number[] = [];
  await rejectsWith(
    (async () => {
      for await (const r of client.serverStream({ count: 5000 })) sizes.push(r.payload.length);
    })(),
    Code.RESOURCE_EXHAUSTED,
  );
  assert.deepEqual(sizes, [10, 100]);
});

test("the default receive limit is 4 MiB", T, async (t) => {
  const { port } = await sizedServer(t);
  const { client } = echoClient(t, port);
  const exact = await client.unary({ count: payloadFor(4 * MiB) });
  assert.equal(exact.payload.length, payloadFor(4 * MiB));
  await rejectsWith(client.unary({ count: payloadFor(4 * MiB + 1) }), Code.RESOURCE_EXHAUSTED);
});

test("a larger maxReceiveMessageLength lets bigger responses through", T, async (t) => {
  const { port } = await sizedServer(t, { maxSendMessageLength: 16 * MiB });
  const { client } = echoClient(t, port, { maxReceiveMessageLength: 8 * MiB });
  assert.equal((await client.unary({ count: 6 * MiB })).payload.length, 6 * MiB);
});

test("the receive limit holds after decompression too", T, async (t) => {
  const { port } = await sizedServer(t, { compression: "gzip" });
  const { client } = echoClient(t, port, { maxReceiveMessageLength: 64 * 1024 });
  // Compresses to a few hundred bytes, inflates past the limit.
  await rejectsWith(client.unary({ count: 1 * MiB }), Code.RESOURCE_EXHAUSTED);
  assert.equal((await client.unary({ count: 1000 })).payload.length, 1000);
});

test("maxSendMessageLength: a request over the limit fails RESOURCE_EXHAUSTED and never reaches the handler", T, async (t) => {
  const { port, received } = await sizedServer(t);
  const { client } = echoClient(t, port, { maxSendMessageLength: 1000 });
  await rejectsWith(client.unary({ payload: new Uint8Array(2000) }), Code.RESOURCE_EXHAUSTED);
  await client.unary({ payload: new Uint8Array(900) });
  await sleep(20);
  assert.deepEqual(received, [900]);
});

test("maxSendMessageLength on a request stream: the big message fails the call", T, async (t) => {
  const { port } = await sizedServer(t);
  const { client } = echoClient(t, port, { maxSendMessageLength: 1000 });
  const requests = createPushable<{ payload: Uint8Array }>();
  const call = client.clientStream(requests);
  requests.push({ payload: new Uint8Array(10) });
  requests.push({ payload: new Uint8Array(5000) });
  await rejectsWith(call, Code.RESOURCE_EXHAUSTED);
  assert.equal((await call.status).code, Code.RESOURCE_EXHAUSTED);
});

test("the server's receive limit is reported to the client as RESOURCE_EXHAUSTED", T, async (t) => {
  const { port, received } = await sizedServer(t, { maxReceiveMessageLength: 1000 });
  const { client } = echoClient(t, port);
  await rejectsWith(client.unary({ payload: new Uint8Array(5000) }), Code.RESOURCE_EXHAUSTED);
  assert.deepEqual(received, []);
});

test("large messages (several MiB, many DATA frames) round trip intact both ways", T, async (t) => {
  const { port } = await serve(t, undefined, { maxReceiveMessageLength: 16 * MiB });
  const { client } = echoClient(t, port, { maxReceiveMessageLength: 16 * MiB });
  const payload = Uint8Array.from({ length: 3 * MiB + 17 }, (_, i) => (i * 31) & 0xff);
  const response = await client.unary({ payload });
  assert.ok(Buffer.from(response.payload).equals(Buffer.from(payload)));
});
