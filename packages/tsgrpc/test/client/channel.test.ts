import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { test, type TestContext } from "node:test";
import { Code, ConnectivityState, createClient, createPushable, streamStream, streamUnary, unaryUnary, type Channel } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, collect, concurrencyCountingServer, countingProxy, echoClient, freePort, grpcFrame, rawServer, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { deferred, echoImpl, sleep, startTestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };
const FAST_BACKOFF = { initialMs: 100, maxMs: 200, jitter: 0 };

/** Resolves once `channel` is in `state` (at once if it already is). */
function stateReached(channel: Channel, state: ConnectivityState, ms = 5000): Promise<void> {
  if (channel.getState() === state) return Promise.resolve();
  const reached = new Promise<void>((resolve) => {
    const unsubscribe = channel.subscribe((s) => {
      if (s === state) {
        unsubscribe();
        resolve();
      }
    });
  });
  return within(reached, ms, `state ${state}`);
}

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

/** An Echo server whose unary handler reports the peer of every call. */
async function peerRecordingServer(t: TestContext, port = 0) {
  const peers: string[] = [];
  const server = await startTestServer(
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: async (r, ctx) => {
          peers.push(ctx.peer);
          if (r.delayMs) await sleepUnlessAborted(r.delayMs, ctx.signal);
          return { message: r.message };
        },
      }),
    { address: `127.0.0.1:${port}` },
  );
  t.after(() => server.close());
  return { ...server, peers };
}

test("lazy connect: IDLE and no connection until the first call, then READY", T, async (t) => {
  const { port } = await serve(t);
  const proxy = await countingProxy(t, port);
  const { channel, client } = echoClient(t, proxy.port);
  await sleep(100);
  assert.equal(channel.getState(), ConnectivityState.IDLE);
  assert.equal(proxy.connections(), 0, "a channel with no calls opened a connection");
  assert.equal((await client.unary({ message: "first" })).message, "first");
  assert.equal(channel.getState(), ConnectivityState.READY);
  assert.equal(proxy.connections(), 1);
});

test("getState(true) starts connecting; subscribe sees IDLE → CONNECTING → READY", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  const states: ConnectivityState[] = [channel.getState()];
  const unsubscribe = channel.subscribe((s) => states.push(s));
  assert.equal(channel.getState(true), ConnectivityState.CONNECTING);
  await stateReached(channel, ConnectivityState.READY);
  assert.deepEqual(states, [ConnectivityState.IDLE, ConnectivityState.CONNECTING, ConnectivityState.READY]);
  // After unsubscribing, no more notifications.
  unsubscribe();
  channel.close();
  assert.deepEqual(states.at(-1), ConnectivityState.READY);
  assert.equal(channel.getState(), ConnectivityState.SHUTDOWN);
});

test("channel.waitForReady(): resolves once READY; DEADLINE_EXCEEDED or CANCELLED when it cannot", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  await within(channel.waitForReady({ timeoutMs: 5000 }), 5000, "READY");
  assert.equal(channel.getState(), ConnectivityState.READY);
  await channel.waitForReady(); // already ready: at once

  const closedPort = await freePort();
  const nowhere = channelFor(t, closedPort, { backoff: FAST_BACKOFF });
  await rejectsWith(nowhere.waitForReady({ timeoutMs: 300 }), Code.DEADLINE_EXCEEDED);
  const controller = new AbortController();
  const waiting = nowhere.waitForReady({ signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await rejectsWith(waiting, Code.CANCELLED);
});

test("a closed port: a fail-fast call gets UNAVAILABLE quickly and the channel is in TRANSIENT_FAILURE", T, async (t) => {
  const port = await freePort();
  const channel = channelFor(t, port);
  const client = createClient(Echo, channel);
  const states: ConnectivityState[] = [];
  channel.subscribe((s) => states.push(s));
  const begin = Date.now();
  const error = await rejectsWith(client.unary({}), Code.UNAVAILABLE);
  assert.ok(Date.now() - begin < 1000, `took ${Date.now() - begin} ms`);
  assert.match(error.details, new RegExp(`${port}`), "the details name the target");
  assert.equal(channel.getState(), ConnectivityState.TRANSIENT_FAILURE);
  assert.deepEqual(states, [ConnectivityState.CONNECTING, ConnectivityState.TRANSIENT_FAILURE]);
  // While in TRANSIENT_FAILURE, fail-fast calls fail at once.
  const again = Date.now();
  await rejectsWith(client.unary({}), Code.UNAVAILABLE);
  await rejectsWith(collect(client.serverStream({})), Code.UNAVAILABLE);
  assert.ok(Date.now() - again < 500, `took ${Date.now() - again} ms`);
});

test("a port that accepts TCP but never speaks HTTP/2 is a failed connection, not READY", T, async (t) => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    silent.close(() => resolve());
  }));
  const port = (silent.address() as net.AddressInfo).port;
  const channel = channelFor(t, port, { connectTimeoutMs: 300, backoff: FAST_BACKOFF });
  const client = createClient(Echo, channel);
  const begin = Date.now();
  await rejectsWith(client.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
  assert.ok(Date.now() - begin < 2000, `took ${Date.now() - begin} ms`);
  assert.notEqual(channel.getState(), ConnectivityState.READY);
});

test("a waitForReady call waits through failures and succeeds once a server starts on the port", T, async (t) => {
  const port = await freePort();
  const channel = channelFor(t, port, { backoff: FAST_BACKOFF });
  const client = createClient(Echo, channel);
  const waiting = client.unary({ message: "patient" }, { waitForReady: true, timeoutMs: 8000 });
  const failFast = client.unary({ message: "hasty" });
  await rejectsWith(failFast, Code.UNAVAILABLE);
  await stateReached(channel, ConnectivityState.TRANSIENT_FAILURE);
  await sleep(300); // a few backoff rounds against the closed port
  await peerRecordingServer(t, port);
  assert.equal((await within(waiting, 5000, "the waiting call")).message, "patient");
  assert.equal(channel.getState(), ConnectivityState.READY);
});

test("a waitForReady call with a deadline against a closed port ends DEADLINE_EXCEEDED", T, async (t) => {
  const port = await freePort();
  const { client } = echoClient(t, port, { backoff: FAST_BACKOFF });
  const begin = Date.now();
  await rejectsWith(client.unary({}, { waitForReady: true, timeoutMs: 400 }), Code.DEADLINE_EXCEEDED);
  const elapsed = Date.now() - begin;
  assert.ok(elapsed >= 390 && elapsed < 2000, `ended after ${elapsed} ms`);
});

test("after a failure, the channel tries again on a later call and recovers (default backoff)", T, async (t) => {
  const port = await freePort();
  const { channel, client } = echoClient(t, port);
  await rejectsWith(client.unary({}), Code.UNAVAILABLE);
  await peerRecordingServer(t, port);
  // Within the first backoff the channel stays in TRANSIENT_FAILURE; then it goes IDLE (or connects).
  await within(
    (async () => {
      for (;;) {
        try {
          return await client.unary({ message: "back" });
        } catch {
          await sleep(100);
        }
      }
    })(),
    5000,
    "a successful call after the server came up",
  );
  assert.equal(channel.getState(), ConnectivityState.READY);
});

test("channel.close(): running calls end CANCELLED, later calls fail, state SHUTDOWN", T, async (t) => {
  const started = deferred();
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: async (_r, ctx) => {
        started.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        return {};
      },
    }),
  );
  const { channel, client } = echoClient(t, port);
  const states: ConnectivityState[] = [];
  channel.subscribe((s) => states.push(s));
  const unary = client.unary({});
  const stream = client.bidi(createPushable<{ message: string }>());
  const waitingForReady = channel.waitForReady({ timeoutMs: 5000 });
  await started.promise;
  channel.close();
  await rejectsWith(unary, Code.CANCELLED);
  await rejectsWith(collect(stream), Code.CANCELLED);
  assert.equal(channel.getState(), ConnectivityState.SHUTDOWN);
  assert.equal(states.at(-1), ConnectivityState.SHUTDOWN);
  await waitingForReady; // it was READY before the close
  await within(rejectsWith(client.unary({}), Code.UNAVAILABLE, /closed/), 1000, "a call on a closed channel to fail");
  await within(rejectsWith(collect(client.serverStream({})), Code.UNAVAILABLE), 1000, "a stream on a closed channel to fail");
  await rejectsWith(channel.waitForReady({ timeoutMs: 1000 }), Code.UNAVAILABLE);
  channel.close(); // twice is fine
});

test("channel.close() while calls wait for a connection fails them at once", T, async (t) => {
  const port = await freePort();
  const { channel, client } = echoClient(t, port, { backoff: FAST_BACKOFF });
  const waiting = client.unary({}, { waitForReady: true });
  await sleep(100);
  channel.close();
  // Closing terminates every call of the channel, waiting ones included.
  await within(rejectsWith(waiting, Code.CANCELLED), 1000, "the waiting call to fail");
});

test("one channel carries many concurrent calls over one connection", T, async (t) => {
  const { port, peers } = await peerRecordingServer(t);
  const { client } = echoClient(t, port);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.unary({ message: `${i}`, delayMs: 20 })));
  assert.equal(results.length, 50);
  await Promise.all(Array.from({ length: 20 }, () => collect(client.serverStream({ count: 5 }))));
  assert.equal(peers.length, 50);
  assert.equal(new Set(peers).size, 1, `calls used ${new Set(peers).size} connections`);
});

test("separate channels use separate connections", T, async (t) => {
  const { port, peers } = await peerRecordingServer(t);
  const a = createClient(Echo, channelFor(t, port));
  const b = createClient(Echo, channelFor(t, port));
  await a.unary({});
  await b.unary({});
  await a.unary({});
  assert.equal(new Set(peers).size, 2);
  assert.equal(peers[0], peers[2]);
});

test("after the server restarts on the same port the channel reconnects", T, async (t) => {
  const port = await freePort();
  const first = await peerRecordingServer(t, port);
  const { channel, client } = echoClient(t, port);
  assert.equal((await client.unary({ message: "one" })).message, "one");
  // A call cut off by the server going away is UNAVAILABLE.
  const running = rejectsWith(client.unary({ message: "interrupted", delayMs: 5000 }), Code.UNAVAILABLE);
  await sleep(50);
  await first.close();
  await running;
  await stateReached(channel, ConnectivityState.IDLE).catch(() => undefined);
  const second = await peerRecordingServer(t, port);
  assert.equal((await client.unary({ message: "two" })).message, "two");
  assert.equal(channel.getState(), ConnectivityState.READY);
  assert.notEqual(second.peers[0], first.peers[0], "a new connection was made");
});

test("a connection lost mid-call: open calls get UNAVAILABLE, the next call reconnects", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: async (r, ctx) => {
        if (r.delayMs) await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        return { message: r.message };
      },
    }),
  );
  const proxy = await countingProxy(t, port);
  const { channel, client } = echoClient(t, proxy.port);
  await client.unary({ message: "warm" });
  const open = [client.unary({ delayMs: 1 }), collect(client.bidi(createPushable<{ message: string }>()))].map((call) =>
    rejectsWith(call, Code.UNAVAILABLE),
  );
  await sleep(100);
  proxy.cut();
  await Promise.all(open);
  assert.equal((await client.unary({ message: "again" })).message, "again");
  assert.equal(proxy.connections(), 2);
  assert.equal(channel.getState(), ConnectivityState.READY);
});

test("graceful server shutdown: running calls finish OK; the channel leaves READY", T, async (t) => {
  const { server, port } = await peerRecordingServer(t);
  const { channel, client } = echoClient(t, port);
  await client.unary({});
  const running = client.unary({ message: "finishing", delayMs: 200 });
  await sleep(50);
  const stopping = server.shutdown();
  assert.equal((await running).message, "finishing");
  await stopping;
  await stateReached(channel, ConnectivityState.IDLE);
  // Nothing listens any more: a fail-fast call fails.
  await rejectsWith(client.unary({}), Code.UNAVAILABLE);
});

// ---- transparent retry of streams the server never processed ----------------------------------------

/** Answers OK with the request body echoed as one message (all request messages concatenated). */
function answerEcho(stream: http2.ServerHttp2Stream): void {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => {
    const body = Buffer.concat(chunks);
    const payloads: Buffer[] = [];
    for (let offset = 0; offset + 5 <= body.length; offset += 5 + body.readUInt32BE(offset + 1)) {
      payloads.push(body.subarray(offset + 5, offset + 5 + body.readUInt32BE(offset + 1)));
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(grpcFrame(Buffer.concat(payloads)));
  });
}

test("a call refused by GOAWAY (above the last stream id) is retried on a new connection", T, async (t) => {
  const sessions = new Set<http2.Http2Session>();
  let refused = 0;
  const port = await rawServer(t, (stream, headers) => {
    sessions.add(stream.session!);
    if (headers["x-hold"]) {
      setTimeout(() => answerEcho(stream), 200);
      return;
    }
    if (sessions.size === 1 && (stream.id ?? 0) > 1) {
      // The first connection goes away, having processed only stream 1.
      refused++;
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
      return;
    }
    answerEcho(stream);
  });
  const channel = channelFor(t, port);
  const call = unaryUnary(channel, "/raw.Goaway/Call");
  const held = call(Buffer.from("held"), { metadata: { "x-hold": "1" } });
  await sleep(50);
  const retried = await call(Buffer.from("retried"));
  assert.equal(Buffer.from(retried).toString(), "retried");
  assert.equal(refused, 1);
  assert.equal(sessions.size, 2, "the retry went to a new connection");
  assert.equal(Buffer.from(await held).toString(), "held", "the call below the last stream id finished normally");
});

test("REFUSED_STREAM before any response is retried transparently, with every request message replayed", T, async (t) => {
  let attempts = 0;
  const port = await rawServer(t, (stream) => {
    attempts++;
    if (attempts === 1) {
      // Refuse once the request is in: the replay must carry all of it.
      stream.on("data", () => undefined);
      stream.on("end", () => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
      return;
    }
    answerEcho(stream);
  });
  const call = streamUnary(channelFor(t, port), "/raw.Refuse/Call");
  const response = await call([Buffer.from("a"), Buffer.from("b"), Buffer.from("c")]);
  assert.equal(Buffer.from(response).toString(), "abc");
  assert.equal(attempts, 2);
});

test("a server that keeps refusing: the retries are bounded and the call ends UNAVAILABLE", T, async (t) => {
  let attempts = 0;
  const port = await rawServer(t, (stream) => {
    attempts++;
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  await rejectsWith(unaryUnary(channelFor(t, port), "/raw.Refuse/Always")(new Uint8Array()), Code.UNAVAILABLE);
  assert.ok(attempts >= 2 && attempts <= 5, `${attempts} attempts`);
});

test("a stream refused after the response head arrived is not retried", T, async (t) => {
  let attempts = 0;
  const port = await rawServer(t, (stream) => {
    attempts++;
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    stream.write(grpcFrame(new Uint8Array([1])), () => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
  });
  const requests = createPushable<Uint8Array>();
  requests.push(new Uint8Array([1]));
  await rejectsWith(collect(streamStream(channelFor(t, port), "/raw.Refuse/Late")(requests)), Code.UNAVAILABLE);
  assert.equal(attempts, 1);
});

test("more concurrent calls than the server's MAX_CONCURRENT_STREAMS all complete", T, async (t) => {
  const { port, mostAtOnce } = await concurrencyCountingServer(t, 2, 50);
  const { client } = echoClient(t, port);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => client.unary({ message: `${i}` }, { timeoutMs: 5000 })));
  assert.deepEqual(results.map((r) => r.message), Array.from({ length: 10 }, (_, i) => `${i}`));
  assert.ok(mostAtOnce() <= 2, `${mostAtOnce()} calls ran at once`);
});
