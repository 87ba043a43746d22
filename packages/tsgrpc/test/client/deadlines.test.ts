import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, createPushable, RpcError } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { echoClient, holdingServer, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { aborted, echoImpl, sleep } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

test("timeoutMs: the client gets DEADLINE_EXCEEDED on time and the handler's signal fires", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const begin = Date.now();
  const call = client.unary({}, { timeoutMs: 200 });
  const ctx = await next();
  await rejectsWith(call, Code.DEADLINE_EXCEEDED);
  const elapsed = Date.now() - begin;
  assert.ok(elapsed >= 190 && elapsed < 1500, `ended after ${elapsed} ms`);
  assert.equal((await call.status).code, Code.DEADLINE_EXCEEDED);
  const reason = await within(aborted(ctx.signal), 2000, "the handler's signal");
  assert.ok(reason instanceof RpcError);
  assert.ok([Code.DEADLINE_EXCEEDED, Code.CANCELLED].includes(reason.code), `handler saw ${reason.message}`);
  assert.equal(ctx.isActive, false);
});

test("grpc-timeout reaches the server as ctx.deadline", T, async (t) => {
  const deadlines: number[] = [];
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r, ctx) => {
        deadlines.push(ctx.deadline);
        return { message: r.message };
      },
    }),
  );
  const { client } = echoClient(t, port);

  let sent = Date.now();
  await client.unary({}, { timeoutMs: 3000 });
  assert.ok(Math.abs(deadlines[0]! - (sent + 3000)) < 250, `deadline off by ${deadlines[0]! - (sent + 3000)} ms`);

  sent = Date.now();
  await client.unary({}, { deadline: new Date(sent + 60_000) });
  assert.ok(Math.abs(deadlines[1]! - (sent + 60_000)) < 250);

  // A far deadline (days) still travels, in a coarser unit.
  sent = Date.now();
  await client.unary({}, { deadline: sent + 10 * 86_400_000 });
  assert.ok(Math.abs(deadlines[2]! - (sent + 10 * 86_400_000)) < 2000);

  await client.unary({});
  assert.equal(deadlines[3], Infinity, "no deadline without a timeout");
});

test("deadline as a Date and as epoch ms; the earlier of timeoutMs and deadline wins", T, async (t) => {
  const { port } = await holdingServer(t);
  const { client } = echoClient(t, port);
  let begin = Date.now();
  await rejectsWith(client.unary({}, { deadline: new Date(Date.now() + 150) }), Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - begin < 1500);

  begin = Date.now();
  await rejectsWith(client.unary({}, { deadline: Date.now() + 150 }), Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - begin < 1500);

  begin = Date.now();
  await rejectsWith(client.unary({}, { deadline: Date.now() + 60_000, timeoutMs: 150 }), Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - begin < 1500, "timeoutMs was earlier");

  begin = Date.now();
  await rejectsWith(client.unary({}, { deadline: Date.now() + 150, timeoutMs: 60_000 }), Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - begin < 1500, "deadline was earlier");
});

test("a deadline already passed fails at once and never reaches the server", T, async (t) => {
  let calls = 0;
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r) => {
        calls++;
        return { message: r.message };
      },
    }),
  );
  const { client } = echoClient(t, port);
  await client.unary({}); // connect first, so the check below is not about connecting
  await rejectsWith(client.unary({}, { deadline: Date.now() - 1000 }), Code.DEADLINE_EXCEEDED);
  await rejectsWith(client.unary({}, { timeoutMs: 0 }), Code.DEADLINE_EXCEEDED);
  await sleep(50);
  assert.equal(calls, 1);
});

test("a negative timeoutMs is a usage error", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  assert.throws(() => client.unary({}, { timeoutMs: -1 }), RangeError);
});

test("server streaming: messages before the deadline are delivered, then DEADLINE_EXCEEDED", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const call = client.serverStream({ count: 3 }, { timeoutMs: 300 });
  const indexes: number[] = [];
  await rejectsWith(
    (async () => {
      for await (const r of call) indexes.push(r.index);
    })(),
    Code.DEADLINE_EXCEEDED,
  );
  assert.deepEqual(indexes, [0, 1, 2]);
  const ctx = await next();
  await within(aborted(ctx.signal), 2000, "the handler's signal");
});

test("client streaming and bidi: the deadline ends the call while the request stream is still open", T, async (t) => {
  const { port, contexts } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const requests = createPushable<{ message: string }>();
  requests.push({ message: "never finished" });
  await rejectsWith(client.clientStream(requests, { timeoutMs: 200 }), Code.DEADLINE_EXCEEDED);

  const bidiRequests = createPushable<{ message: string }>();
  const bidi = client.bidi(bidiRequests, { timeoutMs: 300 });
  const got: string[] = [];
  await rejectsWith(
    (async () => {
      for await (const r of bidi) got.push(r.message);
    })(),
    Code.DEADLINE_EXCEEDED,
  );
  assert.deepEqual(got, ["first"]);
  assert.equal(contexts.length, 2);
  for (const ctx of contexts) await within(aborted(ctx.signal), 2000, "the handler's signal");
});

test("a deadline that passes during a call reported CANCELLED by the server is still DEADLINE_EXCEEDED", T, async (t) => {
  // The server enforces the deadline too: whichever side notices first, the client says DEADLINE_EXCEEDED.
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: async (_r, ctx) => {
        await sleep(Math.max(ctx.timeRemaining(), 0));
        throw new RpcError(Code.CANCELLED, "server gave up at the deadline");
      },
    }),
  );
  const { client } = echoClient(t, port);
  for (let i = 0; i < 5; i++) await rejectsWith(client.unary({}, { timeoutMs: 50 }), Code.DEADLINE_EXCEEDED);
});
