import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, RpcError } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { RawHttp2Client, type RawResponse } from "../helpers/raw-http2-client.js";
import {
  aborted,
  decodeResponse,
  deferred,
  echoImpl,
  encodeRequest,
  SERVER_STREAM,
  sleep,
  startTestServer,
  UNARY,
  until,
  type TestServer,
} from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };
const REFUSED_STREAM = 7;

/**
 * A server whose unary "slow" requests wait until released (or cancelled), and whose server stream
 * sends one message then waits the same way. `started` hands out each slow call's signal.
 */
async function slowServer(t: { after(fn: () => Promise<void>): void }) {
  const release = deferred();
  const started: AbortSignal[] = [];
  const seen: string[] = [];
  const server = await startTestServer((s) =>
    s.addService(Echo, {
      ...echoImpl,
      async unary(request, ctx) {
        seen.push(request.message);
        if (request.message === "slow") {
          started.push(ctx.signal);
          await Promise.race([release.promise, aborted(ctx.signal)]);
        }
        return { message: `done:${request.message}` };
      },
      async *serverStream(_request, ctx) {
        started.push(ctx.signal);
        yield { index: 0 };
        await Promise.race([release.promise, aborted(ctx.signal)]);
        yield { index: 1 };
      },
    }),
  );
  t.after(() => server.close());
  return { ...server, release: release.resolve, started, seen };
}

function startSlow(client: RawHttp2Client) {
  const call = client.start(UNARY);
  call.send(encodeRequest({ message: "slow" }));
  call.end();
  return call;
}

async function connect(t: { after(fn: () => Promise<void>): void }, server: TestServer): Promise<RawHttp2Client> {
  const client = await RawHttp2Client.connect(server.port);
  t.after(() => client.close());
  return client;
}

/** A call cut off before any response: Trailers-Only UNAVAILABLE (it is sent before connections drop). */
function assertUnavailable(response: RawResponse, label: string): void {
  assert.equal(response.grpcStatus, Code.UNAVAILABLE, `${label}: status ${response.grpcStatus}, rst ${response.rstCode}`);
  assert.equal(response.trailersOnly, true, label);
}

/**
 * A call cut off mid-stream: UNAVAILABLE in trailers if they made it out before the connection was
 * dropped, otherwise the stream dies with the connection (which a client reports as UNAVAILABLE too).
 */
function assertCutOff(response: RawResponse, label: string): void {
  if (response.grpcStatus !== undefined) {
    assert.equal(response.grpcStatus, Code.UNAVAILABLE, `${label}: ${response.grpcMessage}`);
  } else {
    assert.ok(response.aborted || (response.rstCode ?? 0) !== 0, `${label}: neither a status nor a reset`);
  }
}

test("graceful shutdown: the running call finishes; its connection gets GOAWAY(NO_ERROR) and takes no new streams; new connections are refused", T, async (t) => {
  const server = await slowServer(t);
  const client = await connect(t, server);
  const running = startSlow(client);
  await until(() => server.started.length === 1, 5000, "the slow call to start");

  let resolvedAt = 0;
  const stopped = server.server.shutdown({ graceMs: 10_000 }).then(() => (resolvedAt = Date.now()));
  await until(() => client.goaways.length > 0, 5000, "GOAWAY");
  // Exactly one stream (id 1) was taken; the client may send nothing above it.
  assert.deepEqual(client.goaways[0], { code: 0, lastStreamId: 1 });

  // After GOAWAY node's client refuses to open streams on that connection at all.
  assert.throws(() => client.start(UNARY), /GOAWAY/);
  await assert.rejects(RawHttp2Client.connect(server.port), /ECONNREFUSED/);
  assert.equal(server.server.activeCalls, 1);
  assert.equal(await server.server.waitForTermination(50), false, "not terminated while a call runs");
  assert.equal(server.started[0]!.aborted, false);

  await sleep(100);
  const releasedAt = Date.now();
  server.release();
  const response = await running.response;
  assert.equal(response.grpcStatus, 0, response.grpcMessage);
  assert.equal(decodeResponse(response.messages[0]!.payload).message, "done:slow");
  await stopped;
  assert.ok(resolvedAt >= releasedAt, "shutdown resolved only after the call finished");
  assert.equal(await server.server.waitForTermination(), true);
  assert.equal(server.server.activeCalls, 0);
});

test("a request that crosses the GOAWAY on the wire is refused unprocessed (REFUSED_STREAM or UNAVAILABLE), never run", T, async (t) => {
  const server = await slowServer(t);
  const holder = await connect(t, server);
  const other = await connect(t, server);
  const running = startSlow(holder);
  await until(() => server.started.length === 1, 5000, "the slow call to start");

  // Sent in the same tick as the shutdown starts, so it reaches the server after GOAWAY went out.
  const crossing = other.start(UNARY);
  crossing.send(encodeRequest({ message: "crossing" }));
  crossing.end();
  const stopped = server.server.shutdown({ graceMs: 10_000 });
  const response = await crossing.response;
  assert.ok(
    response.rstCode === REFUSED_STREAM || response.grpcStatus === Code.UNAVAILABLE,
    `rst ${response.rstCode}, status ${response.grpcStatus}`,
  );
  assert.ok(!server.seen.includes("crossing"), "the handler never saw the refused request");
  server.release();
  assert.equal((await running.response).grpcStatus, 0);
  await stopped;
});

test("graceful shutdown with nothing running resolves at once and closes idle connections", T, async (t) => {
  const server = await slowServer(t);
  const idle = await connect(t, server);
  const started = Date.now();
  await server.server.shutdown({ graceMs: 10_000 });
  assert.ok(Date.now() - started < 1000);
  await until(() => idle.closed, 2000, "the idle connection to close");
  assert.equal(idle.goaways[0]?.code, 0);
});

test("at the end of the grace a still-running call is cancelled: UNAVAILABLE to the client, signal to the handler", T, async (t) => {
  const server = await slowServer(t);
  const client = await connect(t, server);
  const running = startSlow(client);
  await until(() => server.started.length === 1, 5000, "the slow call to start");
  const startedAt = Date.now();
  await server.server.shutdown({ graceMs: 200 });
  const elapsed = Date.now() - startedAt;
  assert.ok(elapsed >= 190 && elapsed < 2000, `shutdown took ${elapsed} ms`);
  const reason = await aborted(server.started[0]!);
  assert.ok(reason instanceof RpcError, String(reason));
  assert.equal(reason.code, Code.UNAVAILABLE);
  const response = await running.response;
  assertUnavailable(response, "the call still running at the end of the grace");
  assert.equal(response.messages.length, 0);
  assert.equal(await server.server.waitForTermination(0), true);
});

test("forceShutdown cancels running calls at once (unary and mid-stream) and closes the connections", T, async (t) => {
  const server = await slowServer(t);
  const client = await connect(t, server);
  const unary = startSlow(client);
  const stream = client.start(SERVER_STREAM);
  stream.send(encodeRequest());
  stream.end();
  await stream.waitForMessages(1);
  await until(() => server.started.length === 2, 5000, "both calls to start");

  const startedAt = Date.now();
  await server.server.forceShutdown();
  assert.ok(Date.now() - startedAt < 1000, "no grace");
  for (const signal of server.started) assert.equal(signal.aborted, true);
  assertUnavailable(await unary.response, "unary");
  const streamed = await stream.response;
  assertCutOff(streamed, "server stream");
  assert.equal(streamed.messages.length, 1, "the message sent before the stop arrived, nothing after");
  await until(() => client.closed, 2000, "the connection to close");
  assert.equal(server.server.activeCalls, 0);
  assert.equal(await server.server.waitForTermination(0), true);
});

test("forceShutdown during a graceful shutdown cuts the grace short", T, async (t) => {
  const server = await slowServer(t);
  const client = await connect(t, server);
  const running = startSlow(client);
  await until(() => server.started.length === 1, 5000, "the slow call to start");
  const graceful = server.server.shutdown({ graceMs: 60_000 });
  await sleep(50);
  assert.equal(server.started[0]!.aborted, false);
  const startedAt = Date.now();
  await server.server.forceShutdown();
  await graceful;
  assert.ok(Date.now() - startedAt < 1000);
  assert.equal(server.started[0]!.aborted, true);
  assertUnavailable(await running.response, "the running call");
});

test("waitForTermination: false on timeout before shutdown, true once shut down, also for an earlier waiter", T, async (t) => {
  const server = await slowServer(t);
  const before = Date.now();
  assert.equal(await server.server.waitForTermination(100), false);
  assert.ok(Date.now() - before >= 95);
  let waiterDone = false;
  const waiter = server.server.waitForTermination().then((v) => {
    waiterDone = true;
    return v;
  });
  await sleep(20);
  assert.equal(waiterDone, false);
  await server.server.shutdown();
  assert.equal(await waiter, true);
  assert.equal(await server.server.waitForTermination(1000), true);
  // Shutting down again is harmless and resolves too.
  await server.server.shutdown();
  await server.server.forceShutdown();
});
