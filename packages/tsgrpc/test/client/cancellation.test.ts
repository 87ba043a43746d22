import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, createPushable, RpcError, type ServerContext } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { collect, echoClient, freePort, holdingServer, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { aborted, deferred, echoImpl, sleep, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/** Resolves with the reason once the handler's signal fires; fails the test if it does not within 3 s. */
async function handlerCancelled(ctx: ServerContext): Promise<RpcError> {
  const reason = await within(aborted(ctx.signal), 3000, "the handler's signal");
  assert.ok(reason instanceof RpcError, `abort reason ${String(reason)}`);
  assert.equal(reason.code, Code.CANCELLED, reason.message);
  return reason;
}

test("AbortSignal cancels a unary call: client CANCELLED, handler signal fires", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const controller = new AbortController();
  const call = client.unary({}, { signal: controller.signal });
  const ctx = await next();
  controller.abort();
  await rejectsWith(call, Code.CANCELLED);
  assert.equal((await call.status).code, Code.CANCELLED);
  await handlerCancelled(ctx);
});

test("call.cancel() cancels a unary call", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const call = client.unary({});
  const ctx = await next();
  call.cancel();
  await rejectsWith(call, Code.CANCELLED);
  await handlerCancelled(ctx);
});

test("an already-aborted signal fails the call at once; nothing reaches the server", T, async (t) => {
  const { port, contexts } = await holdingServer(t);
  const { client } = echoClient(t, port);
  await rejectsWith(client.unary({}, { signal: AbortSignal.abort() }), Code.CANCELLED);
  await rejectsWith(collect(client.serverStream({}, { signal: AbortSignal.abort() })), Code.CANCELLED);
  await sleep(50);
  assert.equal(contexts.length, 0);
});

test("cancelling a server stream mid-iteration: the loop rejects CANCELLED and the handler stops", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const controller = new AbortController();
  const call = client.serverStream({}, { signal: controller.signal });
  const seen: number[] = [];
  const loop = (async () => {
    for await (const r of call) {
      seen.push(r.index);
      controller.abort();
    }
  })();
  await rejectsWith(loop, Code.CANCELLED);
  assert.deepEqual(seen, [0]);
  await handlerCancelled(await next());
});

test("breaking out of a for-await over a server stream cancels the call on the server", T, async (t) => {
  let finallyRan = false;
  const started = deferred<ServerContext>();
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *serverStream(_r, ctx) {
        started.resolve(ctx);
        try {
          // Endless, but paced so the test is about cancellation, not flow control.
          for (let index = 0; ; index++) {
            yield { index };
            await sleep(5);
          }
        } finally {
          finallyRan = true;
        }
      },
    }),
  );
  const { client } = echoClient(t, port);
  const call = client.serverStream({});
  for await (const r of call) {
    if (r.index === 3) break;
  }
  const ctx = await started.promise;
  await handlerCancelled(ctx);
  await until(() => finallyRan, 3000, "the handler's finally block");
  assert.equal((await call.status).code, Code.CANCELLED);
});

test("break out of a bidi loop cancels the call, even while the request stream is open", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const requests = createPushable<{ message: string }>();
  requests.push({ message: "hi" });
  const call = client.bidi(requests);
  for await (const _ of call) break;
  await handlerCancelled(await next());
  assert.equal((await call.status).code, Code.CANCELLED);
});

test("cancel() on client-streaming and bidi calls whose handlers are not reading", T, async (t) => {
  const { port, next } = await holdingServer(t);
  const { client } = echoClient(t, port);
  const requests = createPushable<{ message: string }>();
  requests.push({ message: "a" });
  const cs = client.clientStream(requests);
  const csCtx = await next();
  cs.cancel();
  await rejectsWith(cs, Code.CANCELLED);
  await handlerCancelled(csCtx);

  const bidi = client.bidi(createPushable<{ message: string }>());
  const bidiCtx = await next();
  bidi.cancel();
  await rejectsWith(collect(bidi), Code.CANCELLED);
  await handlerCancelled(bidiCtx);
});

test(
  "cancel() while the handler reads the request stream: the handler's request iteration fails CANCELLED",
  T,
  async (t) => {
    const outcome = deferred<string>();
    const { port } = await serve(t, (s) =>
      s.addService(Echo, {
        ...echoImpl,
        async clientStream(requests, ctx) {
          try {
            for await (const _ of requests);
            outcome.resolve(`request stream ended normally (signal aborted: ${ctx.signal.aborted})`);
          } catch (err) {
            outcome.resolve(err instanceof RpcError ? Code[err.code] : String(err));
            throw err;
          }
          return {};
        },
      }),
    );
    const { client } = echoClient(t, port);
    const requests = createPushable<{ message: string }>();
    requests.push({ message: "a" });
    const call = client.clientStream(requests);
    await sleep(50);
    call.cancel();
    await rejectsWith(call, Code.CANCELLED);
    assert.equal(await within(outcome.promise, 3000, "the handler's outcome"), "CANCELLED");
  },
);

test("cancel after the call completed changes nothing", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  const controller = new AbortController();
  const call = client.unary({ message: "done" }, { signal: controller.signal });
  assert.equal((await call).message, "done");
  call.cancel();
  controller.abort();
  assert.equal((await call.status).code, Code.OK);

  const stream = client.serverStream({ count: 2 });
  assert.equal((await collect(stream)).length, 2);
  stream.cancel();
  assert.equal((await stream.status).code, Code.OK);
});

test("cancelling one call leaves the others on the channel alone", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: async (r) => {
        await sleep(r.delayMs);
        return { message: r.message };
      },
    }),
  );
  const { client } = echoClient(t, port);
  const victim = client.unary({ message: "victim", delayMs: 300 });
  const others = Array.from({ length: 5 }, (_, i) => client.unary({ message: `other${i}`, delayMs: 100 }));
  await sleep(20);
  victim.cancel();
  await rejectsWith(victim, Code.CANCELLED);
  assert.deepEqual((await Promise.all(others)).map((r) => r.message), ["other0", "other1", "other2", "other3", "other4"]);
  assert.equal((await client.unary({ message: "after" })).message, "after");
});

test("cancelling a call still waiting for a connection ends it CANCELLED at once", T, async (t) => {
  const port = await freePort();
  const { client } = echoClient(t, port);
  const call = client.unary({}, { waitForReady: true });
  await sleep(50);
  call.cancel();
  await within(rejectsWith(call, Code.CANCELLED), 1000, "the cancelled call to end");
});
