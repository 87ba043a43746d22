import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { test, type TestContext } from "node:test";
import { Code, ConnectivityState, createChannel, createPushable, unaryUnary } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, echoClient, grpcFrame, rawServer, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { tcpRelay } from "../helpers/tcp-relay.js";
import { aborted, echoImpl, encodeRequest, sleep, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };
const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** An Echo server whose unary calls with `delayMs` wait until cancelled, and whose started calls are counted. */
async function holdingServer(t: TestContext, options: Parameters<typeof serve>[2] = {}) {
  const signals: AbortSignal[] = [];
  const server = await serve(
    t,
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: async (r, ctx) => {
          if (r.delayMs) {
            signals.push(ctx.signal);
            await aborted(ctx.signal);
          }
          return { message: r.message };
        },
      }),
    options,
  );
  return { ...server, signals };
}

/** A plain node:http2 client (no gRPC), closed after the test. */
async function rawClient(t: TestContext, port: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  t.after(() => {
    session.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("error", reject);
  });
  return session;
}

/** Starts a unary Echo call that the holding server keeps open (the request says delayMs). */
function openCall(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const stream = session.request({ ":method": "POST", ":path": "/tsgrpc.test.Echo/Unary", "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => undefined);
  stream.end(grpcFrame(encodeRequest({ delayMs: 60_000 })));
  return stream;
}

function ping(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    try {
      session.ping(() => resolve());
    } catch {
      resolve();
    }
  });
}

interface Goaway {
  code: number;
  lastStreamId: number;
  data: string;
}

function goaways(session: http2.ClientHttp2Session): Goaway[] {
  const seen: Goaway[] = [];
  session.on("goaway", (code: number, lastStreamId: number, data?: Buffer) => seen.push({ code, lastStreamId, data: data?.toString() ?? "" }));
  return seen;
}

// ---- client keepalive ------------------------------------------------------------------------------------

test("a peer that silently stops answering is detected: open calls fail UNAVAILABLE within keepalive time + timeout", T, async (t) => {
  const { port, signals } = await holdingServer(t);
  const relay = await tcpRelay(t, port);
  const { channel, client } = echoClient(t, relay.port, { keepaliveTimeMs: 200, keepaliveTimeoutMs: 300 });
  const requests = createPushable<{ message: string }>();
  const bidi = client.bidi(requests);
  const responses = bidi[Symbol.asyncIterator]();
  requests.push({ message: "one" });
  assert.equal((await responses.next()).value?.message, "one");
  const unary = client.unary({ delayMs: 60_000 });
  await until(() => signals.length === 1, 5000, "the unary call to reach the handler");
  // A keepalive ping is answered while the peer is alive: nothing fails for a few intervals.
  await sleep(700);
  assert.equal(channel.getState(), ConnectivityState.READY);

  relay.blackhole();
  const begin = Date.now();
  const failures = [
    rejectsWith(unary, Code.UNAVAILABLE, /keepalive/),
    rejectsWith(responses.next(), Code.UNAVAILABLE, /keepalive/),
  ];
  await within(Promise.all(failures), 3000, "the open calls to fail");
  const elapsed = Date.now() - begin;
  assert.ok(elapsed <= 200 + 300 + 500, `detected after ${elapsed} ms (keepalive time 200 + timeout 300)`);
  assert.notEqual(channel.getState(), ConnectivityState.READY);

  // Once the network is back, the channel connects again.
  relay.restore();
  assert.equal((await client.unary({ message: "back" }, { timeoutMs: 5000 })).message, "back");
  assert.equal(relay.connections(), 2);
});

test("keepalive pings only while calls are open, unless keepalivePermitWithoutCalls", T, async (t) => {
  const pings = new Map<http2.Http2Session, number>();
  const sessions: http2.Http2Session[] = [];
  const port = await rawServer(t, (stream, headers) => {
    const session = stream.session!;
    if (!pings.has(session)) {
      pings.set(session, 0);
      sessions.push(session);
      session.on("ping", () => pings.set(session, (pings.get(session) ?? 0) + 1));
    }
    const hold = headers["x-hold"] !== undefined;
    stream.on("data", () => undefined);
    stream.on("end", () => {
      const answer = (): void => {
        if (stream.closed) return;
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      };
      if (hold) setTimeout(answer, 600);
      else answer();
    });
  });
  const method = "/raw.Keepalive/Call";

  // Without calls: no pings, however long the connection sits there.
  const quiet = channelFor(t, port, { keepaliveTimeMs: 50 });
  await unaryUnary(quiet, method)(new Uint8Array());
  await sleep(400);
  assert.equal(pings.get(sessions[0]!), 0, "pinged a connection without calls");
  // With a call open (held by the server for 600 ms): a ping after every 50 ms of silence.
  await unaryUnary(quiet, method)(new Uint8Array(), { metadata: { "x-hold": "1" } });
  const during = pings.get(sessions[0]!)!;
  assert.ok(during >= 4, `${during} pings during a 600 ms call`);
  await sleep(300);
  assert.equal(pings.get(sessions[0]!), during, "pinged after the call ended");

  // With keepalivePermitWithoutCalls the idle connection is pinged too.
  const chatty = channelFor(t, port, { keepaliveTimeMs: 50, keepalivePermitWithoutCalls: true });
  await unaryUnary(chatty, method)(new Uint8Array());
  await sleep(400);
  const idle = pings.get(sessions[1]!)!;
  assert.ok(idle >= 3, `${idle} pings in 400 ms without calls`);
});

test("a wrong or missing keepalive option value is refused when the channel is made", T, () => {
  for (const options of [{ keepaliveTimeMs: 0 }, { keepaliveTimeMs: -5 }, { keepaliveTimeoutMs: Number.NaN }, { idleTimeoutMs: 0 }]) {
    assert.throws(() => createChannel("127.0.0.1:1", undefined, options), RangeError, JSON.stringify(options));
  }
});

// ---- server enforcement and the client's answer ------------------------------------------------------

test("the server polices pings: more than two too early → GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\") and the connection closes", T, async (t) => {
  const { port, signals } = await holdingServer(t, { keepaliveMinTimeMs: 10_000 });
  const session = await rawClient(t, port);
  const seen = goaways(session);
  const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
  const stream = openCall(session);
  const streamClosed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
  await until(() => signals.length === 1, 5000, "the call to start");
  // The first ping is fine, the next two are strikes, and are still tolerated.
  for (let i = 0; i < 3; i++) await ping(session);
  await sleep(100);
  assert.equal(seen.length, 0, "GOAWAY after only two strikes");
  // The third strike is one too many.
  void ping(session);
  await within(closed, 3000, "the connection to close");
  const first = seen[0];
  assert.equal(first?.code, NGHTTP2_ENHANCE_YOUR_CALM);
  assert.equal(first?.data, "too_many_pings");
  await streamClosed;
  // The call was cut off with the connection: its handler sees the cancellation.
  await within(aborted(signals[0]!), 3000, "the handler to be cancelled");
});

test("pings right after the server sent HEADERS or DATA are always fine; so are pings at the permitted interval", T, async (t) => {
  const { port } = await serve(t, (s) => s.addService(Echo, echoImpl), { keepaliveMinTimeMs: 100 });
  const session = await rawClient(t, port);
  const seen = goaways(session);
  // A bidi call: each response the server sends resets its count, so a ping after each one is welcome.
  const stream = session.request({ ":method": "POST", ":path": "/tsgrpc.test.Echo/Bidi", "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => undefined);
  let received = 0;
  stream.on("data", () => received++);
  for (let i = 0; i < 6; i++) {
    const before = received;
    stream.write(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x61])); // EchoRequest { message: "a" }
    await until(() => received > before, 3000, "a response");
    await ping(session);
  }
  // With a call open, pings 150 ms apart (permitted: 100 ms) are fine however many there are.
  for (let i = 0; i < 5; i++) {
    await sleep(150);
    await ping(session);
  }
  assert.deepEqual(seen, []);
  stream.end();
});

test("without calls a client may ping only every 2 h, unless the server has keepalivePermitWithoutCalls", T, async (t) => {
  const strict = await serve(t, (s) => s.addService(Echo, echoImpl), { keepaliveMinTimeMs: 0 });
  const a = await rawClient(t, strict.port);
  const seenA = goaways(a);
  for (let i = 0; i < 4; i++) await ping(a);
  await until(() => seenA.length > 0, 3000, "GOAWAY");
  assert.equal(seenA[0]?.data, "too_many_pings");

  const lenient = await serve(t, (s) => s.addService(Echo, echoImpl), { keepaliveMinTimeMs: 0, keepalivePermitWithoutCalls: true });
  const b = await rawClient(t, lenient.port);
  const seenB = goaways(b);
  for (let i = 0; i < 10; i++) await ping(b);
  await sleep(100);
  assert.deepEqual(seenB, []);
});

test("after GOAWAY \"too_many_pings\" the client doubles its keepalive time for new connections", T, async (t) => {
  const pingTimes: number[][] = [];
  const sessions = new Set<http2.Http2Session>();
  // A bare HTTP/2 server that watches the pings of each connection.
  const probe = await new Promise<http2.Http2Server>((resolve) => {
    const server = http2.createServer();
    server.on("session", (session) => {
      sessions.add(session);
      session.on("error", () => undefined);
      const times: number[] = [];
      const index = pingTimes.push(times) - 1;
      session.on("ping", () => {
        times.push(Date.now());
        // The first connection answers its first ping with the complaint, and closes.
        if (index === 0) {
          session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too_many_pings"));
          session.destroy();
        }
      });
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sessions) s.destroy();
    probe.close(() => resolve());
  }));
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === "TSGRPC_TOO_MANY_PINGS") warnings.push(w.message);
  };
  process.on("warning", onWarning);
  t.after(() => process.off("warning", onWarning));

  const probePort = (probe.address() as net.AddressInfo).port;
  const channel = channelFor(t, probePort, { keepaliveTimeMs: 100, keepalivePermitWithoutCalls: true });
  await channel.waitForReady({ timeoutMs: 5000 });
  await until(() => channel.getState() !== ConnectivityState.READY, 3000, "the GOAWAY");
  await until(() => warnings.length === 1, 3000, "the warning");
  assert.match(warnings[0]!, /100 ms to 200 ms/);
  // The next connection pings every 200 ms.
  await channel.waitForReady({ timeoutMs: 5000 });
  await until(() => (pingTimes[1]?.length ?? 0) >= 3, 3000, "three pings on the new connection");
  const times = pingTimes[1]!;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    assert.ok(gap >= 180, `pings ${gap} ms apart on the new connection`);
  }
});

test("tsgrpc client against tsgrpc server: pinging too often is refused and the client backs off", T, async (t) => {
  const { port } = await serve(t, (s) => s.addService(Echo, echoImpl), { keepaliveMinTimeMs: 150, keepalivePermitWithoutCalls: true });
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === "TSGRPC_TOO_MANY_PINGS") warnings.push(w.message);
  };
  process.on("warning", onWarning);
  t.after(() => process.off("warning", onWarning));
  const { channel, client } = echoClient(t, port, { keepaliveTimeMs: 50, keepalivePermitWithoutCalls: true });
  await channel.waitForReady({ timeoutMs: 5000 });
  await until(() => warnings.length === 1, 5000, "the first too_many_pings");
  assert.match(warnings[0]!, /50 ms to 100 ms/);
  await channel.waitForReady({ timeoutMs: 5000 });
  await until(() => warnings.length === 2, 5000, "the second too_many_pings");
  assert.match(warnings[1]!, /100 ms to 200 ms/);
  // At 200 ms the server is content: the connection stays up.
  await channel.waitForReady({ timeoutMs: 5000 });
  await sleep(1000);
  assert.equal(warnings.length, 2);
  assert.equal(channel.getState(), ConnectivityState.READY);
  assert.equal((await client.unary({ message: "calm" })).message, "calm");
});

// ---- server keepalive --------------------------------------------------------------------------------

test("server keepalive: a client that silently went away is detected and its calls cancelled", T, async (t) => {
  const { port, signals } = await holdingServer(t, { keepaliveTimeMs: 200, keepaliveTimeoutMs: 300 });
  const relay = await tcpRelay(t, port);
  const { client } = echoClient(t, relay.port);
  // The client has no keepalive of its own: its call ends when the channel is closed after the test.
  void client.unary({ delayMs: 60_000 }).catch(() => undefined);
  await until(() => signals.length === 1, 5000, "the call to start");
  await sleep(600); // a few pings, all answered
  assert.equal(signals[0]!.aborted, false);
  relay.blackhole();
  const begin = Date.now();
  await within(aborted(signals[0]!), 3000, "the server to give up on the client");
  const elapsed = Date.now() - begin;
  assert.ok(elapsed <= 200 + 300 + 500, `detected after ${elapsed} ms`);
});

test("server keepalive pings go out with or without calls", T, async (t) => {
  const { port } = await serve(t, (s) => s.addService(Echo, echoImpl), { keepaliveTimeMs: 50 });
  const session = await rawClient(t, port);
  let pings = 0;
  session.on("ping", () => pings++);
  await sleep(400);
  assert.ok(pings >= 3, `${pings} server pings in 400 ms`);
});
