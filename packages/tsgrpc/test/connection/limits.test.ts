import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test, type TestContext } from "node:test";
import { Code, createClient, createServer, RpcError, type ServerOptions } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, concurrencyCountingServer, echoClient, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { deferred, echoImpl, sleep, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };

/** An Echo server whose unary "hold" calls wait for `release`; counts the handlers that ran. */
async function gatedServer(t: TestContext, options: ServerOptions) {
  const gate = deferred();
  let started = 0;
  const server = await serve(
    t,
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: async (r) => {
          started++;
          if (r.message === "hold") await gate.promise;
          return { message: r.message };
        },
      }),
    options,
  );
  return { ...server, release: gate.resolve, started: () => started };
}

test("maxConcurrentRpcs: exactly the calls beyond the limit get RESOURCE_EXHAUSTED, across connections", T, async (t) => {
  const { port, server, release, started } = await gatedServer(t, { maxConcurrentRpcs: 3 });
  const a = createClient(Echo, channelFor(t, port));
  const b = createClient(Echo, channelFor(t, port));
  const held = [a.unary({ message: "hold" }), b.unary({ message: "hold" }), a.unary({ message: "hold" })];
  await until(() => started() === 3, 5000, "three calls running");
  assert.equal(server.activeCalls, 3);
  // Every call beyond the limit is refused, from either connection, without running its handler.
  const refused = await Promise.all(
    [a, b, a, b].map((client) => rejectsWith(client.unary({ message: "extra" }), Code.RESOURCE_EXHAUSTED, /limit of 3/)),
  );
  assert.equal(refused.length, 4);
  assert.equal(started(), 3);
  release();
  assert.deepEqual((await Promise.all(held)).map((r) => r.message), ["hold", "hold", "hold"]);
  // Below the limit again: served.
  const after = await Promise.all([a.unary({ message: "x" }), b.unary({ message: "y" }), a.unary({ message: "z" })]);
  assert.deepEqual(after.map((r) => r.message), ["x", "y", "z"]);
});

test("maxConcurrentRpcs: a slot frees the moment a call ends", T, async (t) => {
  const { port } = await serve(t, (s) => s.addService(Echo, { ...echoImpl, unary: async (r) => (await sleep(r.delayMs), { message: r.message }) }), {
    maxConcurrentRpcs: 1,
  });
  const { client } = echoClient(t, port);
  for (let i = 0; i < 20; i++) assert.equal((await client.unary({ message: `${i}` })).message, `${i}`);
  const results = await Promise.allSettled([client.unary({ message: "a", delayMs: 200 }), sleep(50).then(() => client.unary({ message: "b" }))]);
  assert.equal(results[0].status, "fulfilled");
  assert.equal(results[1].status, "rejected");
  assert.equal(((results[1] as PromiseRejectedResult).reason as RpcError).code, Code.RESOURCE_EXHAUSTED);
});

test("maxConcurrentStreams: advertised in SETTINGS; a tsgrpc client queues the calls beyond it instead of failing them", T, async (t) => {
  const { port, mostAtOnce } = await concurrencyCountingServer(t, 3, 30);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  t.after(() => {
    session.destroy();
  });
  const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
  assert.equal(settings.maxConcurrentStreams, 3);
  const { client } = echoClient(t, port);
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => client.unary({ message: `${i}` })));
  assert.equal(results.length, 12);
  assert.ok(mostAtOnce() <= 3, `${mostAtOnce()} calls at once on one connection`);
});

test("maxMetadataSize: advertised as SETTINGS_MAX_HEADER_LIST_SIZE; metadata over it is RESOURCE_EXHAUSTED, the channel lives", T, async (t) => {
  const { port } = await serve(t, undefined, { maxMetadataSize: 2048 });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  t.after(() => {
    session.destroy();
  });
  const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
  assert.equal(settings.maxHeaderListSize, 2048);
  const { client } = echoClient(t, port);
  assert.equal((await client.unary({ message: "small" }, { metadata: { "x-a": "a".repeat(1000) } })).message, "small");
  await rejectsWith(client.unary({}, { metadata: { "x-a": "a".repeat(3000) } }), Code.RESOURCE_EXHAUSTED);
  assert.equal((await client.unary({ message: "still" })).message, "still");
});

test("the default metadata limit is 8 KiB, on both sides", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r, ctx) => {
        ctx.sendHeaders({ "x-reply": "b".repeat(r.count) });
        return { message: r.message };
      },
    }),
  );
  const { client } = echoClient(t, port);
  assert.equal((await client.unary({ message: "7k" }, { metadata: { "x-a": "a".repeat(7 * 1024) } })).message, "7k");
  await rejectsWith(client.unary({}, { metadata: { "x-a": "a".repeat(9 * 1024) } }), Code.RESOURCE_EXHAUSTED);
  // Response metadata: within the client's 8 KiB it arrives, beyond it the call fails (and only the call).
  assert.equal((await client.unary({ message: "ok", count: 7 * 1024 })).message, "ok");
  await assert.rejects(client.unary({ message: "too big", count: 9 * 1024 }), RpcError);
  assert.equal((await client.unary({ message: "after" })).message, "after");
});

test("bad limits are refused when the server is made", () => {
  for (const options of [{ maxConcurrentRpcs: 0 }, { maxConcurrentRpcs: -1 }, { maxConnectionAgeMs: Number.NaN }, { keepaliveMinTimeMs: -1 }]) {
    assert.throws(() => createServer(options), RangeError, JSON.stringify(options));
  }
});
