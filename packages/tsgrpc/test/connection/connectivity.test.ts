import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Code, ConnectivityState, createClient, createPushable, type Channel } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, echoClient, freePort, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { tcpRelay } from "../helpers/tcp-relay.js";
import { echoImpl, sleep, startTestServer, until, type TestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };
const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN } = ConnectivityState;
const FAST_BACKOFF = { initialMs: 100, maxMs: 200, jitter: 0 };

/** Every state `channel` reports from now on, with the time it came. */
function record(channel: Channel): { states: ConnectivityState[]; times: number[] } {
  const states: ConnectivityState[] = [];
  const times: number[] = [];
  channel.subscribe((s) => {
    states.push(s);
    times.push(Date.now());
  });
  return { states, times };
}

/** An Echo server on `port` (0: any), shut down after the test unless the test stops it first. */
async function echoServer(t: TestContext, port = 0): Promise<TestServer> {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl), { address: `127.0.0.1:${port}` });
  t.after(() => server.close());
  return server;
}

// ---- subscribe / unsubscribe ---------------------------------------------------------------------

test("subscribe: the listener gets the current state at once (after subscribe returns), then each change", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  const states: ConnectivityState[] = [];
  channel.subscribe((s) => states.push(s));
  assert.deepEqual(states, [], "called from inside subscribe()");
  await sleep(0);
  assert.deepEqual(states, [IDLE], "the current state, once");
  await sleep(50);
  assert.deepEqual(states, [IDLE], "nothing changed, nothing more");
  await channel.waitForReady({ timeoutMs: 5000 });
  assert.deepEqual(states, [IDLE, CONNECTING, READY]);
  channel.close();
  assert.deepEqual(states, [IDLE, CONNECTING, READY, SHUTDOWN]);
  // Subscribing to a closed channel still tells the state.
  const late: ConnectivityState[] = [];
  channel.subscribe((s) => late.push(s));
  await sleep(0);
  assert.deepEqual(late, [SHUTDOWN]);
});

test("subscribe(listener, true) starts connecting; the first state the listener sees is CONNECTING", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  const states: ConnectivityState[] = [];
  channel.subscribe((s) => states.push(s), true);
  assert.equal(channel.getState(), CONNECTING);
  await until(() => states.at(-1) === READY, 5000, "READY");
  assert.deepEqual(states, [CONNECTING, READY]);
});

test("a change before the first notification replaces it: no stale state is delivered", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  const states: ConnectivityState[] = [];
  channel.subscribe((s) => states.push(s));
  channel.getState(true); // IDLE → CONNECTING before the listener heard IDLE
  await until(() => states.at(-1) === READY, 5000, "READY");
  assert.deepEqual(states, [CONNECTING, READY]);
});

test("unsubscribe, by the returned function or channel.unsubscribe, stops the calls (even the first one)", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  const a: ConnectivityState[] = [];
  const b: ConnectivityState[] = [];
  const c: ConnectivityState[] = [];
  const listenerB = (s: ConnectivityState): void => void b.push(s);
  const stopA = channel.subscribe((s) => a.push(s));
  channel.subscribe(listenerB);
  const stopC = channel.subscribe((s) => c.push(s));
  stopC(); // before even the current state went out
  await sleep(0);
  stopA();
  await channel.waitForReady({ timeoutMs: 5000 });
  assert.deepEqual(a, [IDLE]);
  assert.deepEqual(b, [IDLE, CONNECTING, READY]);
  assert.deepEqual(c, []);
  channel.unsubscribe(listenerB);
  channel.close();
  assert.deepEqual(b, [IDLE, CONNECTING, READY]);
  stopA(); // twice is harmless
  channel.unsubscribe(listenerB);
});

test("a listener may unsubscribe itself or another while being called", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);
  const seen: string[] = [];
  let stopSecond = (): void => {};
  const stopFirst = channel.subscribe((s) => {
    seen.push(`first:${s}`);
    if (s === CONNECTING) {
      stopFirst();
      stopSecond();
    }
  });
  stopSecond = channel.subscribe((s) => seen.push(`second:${s}`));
  await sleep(0);
  await channel.waitForReady({ timeoutMs: 5000 });
  assert.deepEqual(seen, [`first:${IDLE}`, `second:${IDLE}`, `first:${CONNECTING}`]);
});

// ---- waiting for READY ----------------------------------------------------------------------------

test("waitForReady with a deadline: DEADLINE_EXCEEDED when it passes, at once for one already past", T, async (t) => {
  const port = await freePort();
  const channel = channelFor(t, port, { backoff: FAST_BACKOFF });
  const begin = Date.now();
  await rejectsWith(channel.waitForReady({ deadline: new Date(Date.now() + 300) }), Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - begin >= 290, `gave up after ${Date.now() - begin} ms`);
  await rejectsWith(channel.waitForReady({ deadline: Date.now() - 1 }), Code.DEADLINE_EXCEEDED);
  await assert.rejects(channel.waitForReady({ timeoutMs: -1 }), RangeError);
});

// ---- reconnecting ---------------------------------------------------------------------------------

test("server restarted on the same port: TRANSIENT_FAILURE, back to READY, and queued wait-for-ready calls succeed", T, async (t) => {
  const port = await freePort();
  const first = await echoServer(t, port);
  const { channel, client } = echoClient(t, port, { backoff: FAST_BACKOFF });
  assert.equal((await client.unary({ message: "before" })).message, "before");
  const { states } = record(channel);
  await first.close();
  await until(() => channel.getState() === IDLE, 3000, "the channel to notice the server went away");

  // Calls made while nothing listens: wait-for-ready ones queue, fail-fast ones fail.
  const queued = [1, 2, 3].map((n) => client.unary({ message: `queued${n}` }, { waitForReady: true, timeoutMs: 10_000 }));
  await until(() => channel.getState() === TRANSIENT_FAILURE, 3000, "TRANSIENT_FAILURE");
  await rejectsWith(client.unary({ message: "hasty" }), Code.UNAVAILABLE);
  await sleep(350); // several backoff rounds against the closed port

  await echoServer(t, port);
  const results = await within(Promise.all(queued), 5000, "the queued calls");
  assert.deepEqual(results.map((r) => r.message), ["queued1", "queued2", "queued3"]);
  assert.equal(channel.getState(), READY);
  // READY → IDLE (the server left) → CONNECTING → TRANSIENT_FAILURE → CONNECTING → … → READY.
  assert.deepEqual(states.slice(0, 4), [READY, IDLE, CONNECTING, TRANSIENT_FAILURE]);
  assert.equal(states.at(-1), READY);
  for (let i = 1; i < states.length; i++) {
    const [from, to] = [states[i - 1], states[i]];
    if (from === TRANSIENT_FAILURE) assert.equal(to, CONNECTING, "TRANSIENT_FAILURE only ever leads to CONNECTING");
  }
});

test("reconnect backoff: attempts start initial, ×multiplier, up to the maximum apart; the channel keeps trying without calls", T, async (t) => {
  const port = await freePort();
  const channel = channelFor(t, port, { backoff: { initialMs: 100, multiplier: 2, maxMs: 400, jitter: 0 } });
  const { states, times } = record(channel);
  channel.getState(true);
  await sleep(1500);
  const attempts = times.filter((_, i) => states[i] === CONNECTING);
  const gaps = attempts.slice(1).map((time, i) => time - attempts[i]!);
  assert.ok(gaps.length >= 4, `only ${gaps.length + 1} attempts: ${states.join(" ")}`);
  for (const [i, expected] of [100, 200, 400, 400].entries()) {
    // Never sooner than the algorithm says; later only by how busy the machine is.
    assert.ok(gaps[i]! >= expected - 10 && gaps[i]! < expected + 250, `gap ${i} was ${gaps[i]} ms, expected ${expected}: ${gaps.join(", ")}`);
  }
});

test("backoff jitter spreads the attempts of channels that failed together", T, async (t) => {
  const port = await freePort();
  const channels = Array.from({ length: 6 }, () => channelFor(t, port, { backoff: { initialMs: 200, jitter: 0.2 } }));
  const firstRetry: number[] = [];
  for (const channel of channels) {
    const { states, times } = record(channel);
    channel.getState(true);
    void until(() => states.filter((s) => s === CONNECTING).length >= 2, 3000).then(
      () => firstRetry.push(times[states.lastIndexOf(CONNECTING)]!),
      () => undefined,
    );
  }
  await until(() => firstRetry.length === channels.length, 3000, "every channel to retry");
  const spread = Math.max(...firstRetry) - Math.min(...firstRetry);
  assert.ok(spread >= 5, `six retries within ${spread} ms of each other`);
});

// ---- idle timeout and close -------------------------------------------------------------------------

test("idle timeout: a channel without calls closes its connection and goes IDLE; the next call reconnects", T, async (t) => {
  const { port } = await serve(t);
  const relay = await tcpRelay(t, port);
  const { channel, client } = echoClient(t, relay.port, { idleTimeoutMs: 300 });
  // A call that lasts longer than the idle timeout keeps the channel busy.
  const requests = createPushable<{ message: string }>();
  const iterator = client.bidi(requests)[Symbol.asyncIterator]();
  requests.push({ message: "open" });
  await iterator.next();
  await sleep(450);
  assert.equal(channel.getState(), READY, "went idle with a call open");
  requests.end();
  while (!(await iterator.next()).done);
  const { states } = record(channel);
  await until(() => channel.getState() === IDLE, 2000, "IDLE");
  assert.deepEqual(states, [READY, IDLE]);
  assert.equal(relay.connections(), 1);
  assert.equal((await client.unary({ message: "again" })).message, "again");
  assert.equal(relay.connections(), 2, "a new connection after going idle");
  assert.equal(channel.getState(), READY);
});

test("idle timeout also ends the retrying of a channel that cannot connect", T, async (t) => {
  const port = await freePort();
  const channel = channelFor(t, port, { backoff: FAST_BACKOFF, idleTimeoutMs: 400 });
  const { states } = record(channel);
  channel.getState(true);
  await until(() => channel.getState() === IDLE && states.length > 2, 3000, "IDLE");
  const settled = states.length;
  await sleep(400);
  assert.equal(states.length, settled, `kept trying after going idle: ${states.join(" ")}`);
});

test("closing a channel ends every call with CANCELLED, wait-for-ready calls queued in TRANSIENT_FAILURE too", T, async (t) => {
  const port = await freePort();
  const { channel, client } = echoClient(t, port, { backoff: FAST_BACKOFF });
  const queued = client.unary({}, { waitForReady: true });
  await until(() => channel.getState() === TRANSIENT_FAILURE, 3000, "TRANSIENT_FAILURE");
  channel.close();
  await within(rejectsWith(queued, Code.CANCELLED), 1000, "the queued call");
  assert.equal(channel.getState(), SHUTDOWN);
  await rejectsWith(createClient(Echo, channel).unary({}), Code.UNAVAILABLE);
});
