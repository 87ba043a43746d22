import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test, type TestContext } from "node:test";
import { Code, ConnectivityState, createPushable, type ServerOptions } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { collect, echoClient, grpcFrame, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl, encodeRequest, sleep, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const MAX_STREAM_ID = 2 ** 31 - 1;

/** Waits `ms`, or less if `signal` fires first (so no timer outlives a cancelled handler). */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** An Echo server whose unary handler waits `delayMs` and records the connection (peer) of every call. */
async function recordingServer(t: TestContext, options: ServerOptions) {
  const peers: string[] = [];
  const cancelled: string[] = [];
  const server = await serve(
    t,
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: async (r, ctx) => {
          peers.push(ctx.peer);
          if (r.delayMs) await sleepUnlessAborted(r.delayMs, ctx.signal);
          if (ctx.signal.aborted) cancelled.push(r.message);
          return { message: r.message };
        },
      }),
    options,
  );
  return { ...server, peers, cancelled };
}

interface Goaway {
  code: number;
  lastStreamId: number;
  data: string;
}

// ---- max connection age --------------------------------------------------------------------------------

test("max connection age: graceful two-step GOAWAY (2^31-1 and a PING, then the last stream id); the open call finishes", T, async (t) => {
  const { port } = await recordingServer(t, { maxConnectionAgeMs: 200 });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  t.after(() => {
    session.destroy();
  });
  const seen: Goaway[] = [];
  session.on("goaway", (code: number, lastStreamId: number, data?: Buffer) => seen.push({ code, lastStreamId, data: data?.toString() ?? "" }));
  // One call that outlives the connection's age.
  const stream = session.request({ ":method": "POST", ":path": "/tsgrpc.test.Echo/Unary", "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => undefined);
  stream.resume();
  stream.end(grpcFrame(encodeRequest({ message: "long", delayMs: 700 })));
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
  await until(() => seen.length >= 2, 3000, "two GOAWAY frames");
  assert.deepEqual(seen[0], { code: 0, lastStreamId: MAX_STREAM_ID, data: "max_age" });
  assert.equal(seen[1]!.code, 0);
  assert.equal(seen[1]!.lastStreamId, 1, "the second GOAWAY names the stream being processed");
  assert.equal((await within(trailers, 3000, "the call to finish"))["grpc-status"], "0");
});

test("max connection age: calls in flight across many GOAWAYs are all served, none lost", T, async (t) => {
  const { port, peers } = await recordingServer(t, { maxConnectionAgeMs: 150, maxConnectionAgeGraceMs: 10_000 });
  const { client } = echoClient(t, port);
  const stopAt = Date.now() + 1500;
  let completed = 0;
  // Ten callers in a loop, plus calls that span several connection lifetimes.
  const loops = Array.from({ length: 10 }, async (_, n) => {
    while (Date.now() < stopAt) {
      // Short calls (the connection is often idle when its age comes) and longer ones (it is not).
      const r = await client.unary({ message: `${n}`, delayMs: n < 5 ? 1 : 20 + ((completed * 7) % 80) }, { timeoutMs: 5000 });
      assert.equal(r.message, `${n}`);
      completed++;
    }
  });
  const long = Array.from({ length: 3 }, (_, n) => client.unary({ message: `long${n}`, delayMs: 400 + 200 * n }, { timeoutMs: 5000 }));
  const stream = collect(client.serverStream({ message: "s", count: 50 }));
  await Promise.all([...loops, ...long, stream]);
  assert.ok(completed > 50, `${completed} calls`);
  const connections = new Set(peers).size;
  assert.ok(connections >= 4, `only ${connections} connections in 1.5 s with a 150 ms max age`);
});

test("max connection age grace: calls still running when it ends are cut off (server: cancelled, client: UNAVAILABLE)", T, async (t) => {
  const { port, cancelled } = await recordingServer(t, { maxConnectionAgeMs: 100, maxConnectionAgeGraceMs: 200 });
  const { client } = echoClient(t, port);
  const begin = Date.now();
  await rejectsWith(client.unary({ message: "too long", delayMs: 5000 }), Code.UNAVAILABLE);
  const elapsed = Date.now() - begin;
  assert.ok(elapsed >= 250 && elapsed < 1500, `cut off after ${elapsed} ms (age 100 ±10% + grace 200)`);
  await until(() => cancelled.length === 1, 3000, "the handler to be cancelled");
  // The channel moves on to a new connection.
  assert.equal((await client.unary({ message: "next" })).message, "next");
});

// ---- max connection idle -------------------------------------------------------------------------------

test("max connection idle: a connection without calls is closed gracefully; the channel goes IDLE and reconnects on demand", T, async (t) => {
  const { port, peers } = await recordingServer(t, { maxConnectionIdleMs: 200 });
  const { channel, client } = echoClient(t, port);
  // A call longer than the idle time keeps the connection: idleness counts from the last call's end.
  assert.equal((await client.unary({ message: "a", delayMs: 400 })).message, "a");
  assert.equal((await client.unary({ message: "b" })).message, "b");
  assert.equal(new Set(peers).size, 1);
  const states: ConnectivityState[] = [];
  channel.subscribe((s) => states.push(s));
  await until(() => channel.getState() === ConnectivityState.IDLE, 3000, "the channel to go IDLE");
  assert.deepEqual(states, [ConnectivityState.READY, ConnectivityState.IDLE]);
  assert.equal((await client.unary({ message: "c" })).message, "c");
  assert.equal(new Set(peers).size, 2, "a new connection after the idle close");
});

test("a bidi stream open past max idle and max age is not disturbed until it ends", T, async (t) => {
  const { port } = await serve(t, (s) => s.addService(Echo, echoImpl), { maxConnectionIdleMs: 100, maxConnectionAgeMs: 150 });
  const { client } = echoClient(t, port);
  const requests = createPushable<{ message: string }>();
  const call = client.bidi(requests);
  const responses = call[Symbol.asyncIterator]();
  for (let i = 0; i < 5; i++) {
    requests.push({ message: `${i}` });
    assert.equal((await responses.next()).value?.message, `${i}`);
    await sleep(100);
  }
  requests.end();
  assert.equal((await responses.next()).done, true);
  assert.equal((await call.status).code, Code.OK);
});

test("server shutdown during a max-age drain still ends cleanly", T, async (t) => {
  const { server, port } = await recordingServer(t, { maxConnectionAgeMs: 100 });
  const { client } = echoClient(t, port);
  const running = client.unary({ message: "r", delayMs: 300 });
  await sleep(150);
  await within(server.shutdown(), 3000, "shutdown");
  assert.equal((await running).message, "r");
});
