import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { echoClient, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { aborted, deferred, echoImpl, sleep, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const MESSAGE = 16 * 1024;
/** Far more than flow-control windows and queues can hold (64 MiB of messages). */
const UNBOUNDED = 4096;
/**
 * What may pile up without a reader: a 1 MiB stream window is 64 such messages, plus queues and socket
 * buffers. Four times that is still far from UNBOUNDED.
 */
const BOUND = 256;

/** Waits until `read()` has not changed for `quietMs`, and returns its value. */
async function settled(read: () => number, quietMs = 300, limitMs = 5000): Promise<number> {
  const giveUpAt = Date.now() + limitMs;
  let last = read();
  for (;;) {
    await sleep(quietMs);
    const now = read();
    if (now === last) return now;
    if (Date.now() > giveUpAt) throw new Error(`still moving after ${limitMs} ms (${now})`);
    last = now;
  }
}

test("a client that does not read a server stream holds the server's producer back", T, async (t) => {
  let produced = 0;
  let handlerSignal: AbortSignal | undefined;
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *serverStream(_r, ctx) {
        handlerSignal = ctx.signal;
        for (let index = 0; index < UNBOUNDED; index++) {
          produced++;
          yield { index, payload: new Uint8Array(MESSAGE) };
        }
      },
    }),
  );
  const { client } = echoClient(t, port);
  const call = client.serverStream({});
  await until(() => produced > 0, 3000, "the handler to start");
  const stalledAt = await settled(() => produced);
  assert.ok(stalledAt < BOUND, `the producer ran ahead to ${stalledAt} messages without a reader`);

  // Reading lets it go on, and every message arrives in order.
  let expected = 0;
  for await (const r of call) {
    assert.equal(r.index, expected++);
    if (expected === stalledAt + 200) break;
  }
  assert.ok(produced >= stalledAt + 200 - 1, "the producer resumed once the client read");
  await within(aborted(handlerSignal!), 3000, "the handler's cancellation after break");
});

test("a slow reader on the server holds the client's request pump back", T, async (t) => {
  const release = deferred();
  const done = deferred<number>();
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async clientStream(requests) {
        let n = 0;
        for await (const _ of requests) {
          n++;
          if (n === 1) await release.promise; // read one message, then stall
        }
        done.resolve(n);
        return { index: n };
      },
    }),
  );
  const { client } = echoClient(t, port);
  let pulled = 0;
  async function* requests() {
    for (let i = 0; i < UNBOUNDED; i++) {
      pulled++;
      yield { payload: new Uint8Array(MESSAGE) };
    }
  }
  const call = client.clientStream(requests());
  await until(() => pulled > 0, 3000, "the request pump to start");
  const stalledAt = await settled(() => pulled);
  assert.ok(stalledAt < BOUND, `the client pulled ${stalledAt} requests while the server read none`);

  release.resolve();
  const response = await call;
  assert.equal(response.index, UNBOUNDED);
  assert.equal(await done.promise, UNBOUNDED);
});

test("bidi: backpressure each way is independent, and everything arrives once both sides read", T, async (t) => {
  let produced = 0;
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *bidi(requests) {
        // Answer every request with two responses.
        for await (const r of requests) {
          for (let k = 0; k < 2; k++) {
            produced++;
            yield { index: r.count * 2 + k, payload: new Uint8Array(MESSAGE) };
          }
        }
      },
    }),
  );
  const { client } = echoClient(t, port);
  let pulled = 0;
  const total = 1024;
  async function* requests() {
    for (let i = 0; i < total; i++) {
      pulled++;
      yield { count: i, payload: new Uint8Array(MESSAGE) };
    }
  }
  const call = client.bidi(requests());
  await until(() => pulled > 0, 3000, "the request pump to start");
  // Nobody reads responses: the server stalls writing, so it stops reading, so the client stops sending.
  const pulledStall = await settled(() => pulled);
  const producedStall = produced;
  assert.ok(pulledStall < BOUND, `the client pulled ${pulledStall} requests although nothing read the responses`);
  assert.ok(producedStall < BOUND, `server produced ${producedStall} responses nobody read`);

  let expected = 0;
  for await (const r of call) assert.equal(r.index, expected++);
  assert.equal(expected, 2 * total);
  assert.equal((await call.status).code, Code.OK);
});

test("many small messages in a burst are all delivered in order", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  let expected = 0;
  for await (const r of client.serverStream({ message: "x", count: 20_000 })) assert.equal(r.index, expected++);
  assert.equal(expected, 20_000);
});
