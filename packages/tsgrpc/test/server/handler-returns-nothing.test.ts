import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Code, type ServerInterceptor, type ServiceImplementation } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { collect, echoClient, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/**
 * Handlers whose only way out is ctx.abort(): no `return` after it. These compile only because the
 * handler types accept a handler that returns nothing (TypeScript does not see `ctx.abort()` as the end
 * of a function whose `ctx` is typed from context, so each is inferred to return void / Promise<void>).
 */
const abortOnly: ServiceImplementation<typeof Echo> = {
  async unary(request, ctx) {
    ctx.abort(Code.NOT_FOUND, `no feature named ${request.message}`);
  },
  async clientStream(requests, ctx) {
    let count = 0;
    for await (const _ of requests) count++;
    ctx.abort(Code.OUT_OF_RANGE, `${count} requests`);
  },
  // Synchronous handlers too, and the streaming kinds.
  serverStream(_request, ctx) {
    ctx.abort(Code.PERMISSION_DENIED, "not yours");
  },
  bidi: (_requests, ctx) => ctx.abort(Code.UNAUTHENTICATED, "who are you"),
};

/** One with `unary` written as a synchronous method: the same inference, without a Promise. */
const syncAbortOnly: ServiceImplementation<typeof Echo> = {
  unary(_request, ctx) {
    ctx.abort(Code.ABORTED, "sync");
  },
};

/** Handlers that set a status with ctx.setStatus and return nothing, or return nothing at all. */
const returnsNothing: ServiceImplementation<typeof Echo> = {
  async unary(request, ctx) {
    if (request.message === "fail") {
      ctx.setStatus(Code.NOT_FOUND, "set, not thrown");
      ctx.setTrailers({ "x-why": "missing" });
    } else if (request.message === "ok-status") {
      ctx.setStatus(Code.OK, "all good?");
    }
    // Nothing returned in any case.
  },
  async clientStream(requests, ctx) {
    for await (const request of requests) if (request.message === "fail") ctx.setStatus(Code.FAILED_PRECONDITION, "stream said fail");
  },
  // Streaming handlers returning nothing: no messages, OK.
  serverStream() {},
  async bidi() {},
};

const passThrough: ServerInterceptor = (next) => (call) => next(call);

/** Both server paths: without interceptors, and with one (the intercepted path handles results apart). */
const paths = [
  { name: "direct", options: {} },
  { name: "intercepted", options: { interceptors: [passThrough] } },
] as const;

async function clientFor(t: TestContext, impl: ServiceImplementation<typeof Echo>, options: (typeof paths)[number]["options"]) {
  const { port } = await serve(t, (s) => s.addService(Echo, { ...echoImpl, ...impl }), options);
  return echoClient(t, port).client;
}

for (const { name, options } of paths) {
  test(`${name}: handlers ending in ctx.abort() without a return answer with the abort status`, T, async (t) => {
    const client = await clientFor(t, abortOnly, options);
    await rejectsWith(client.unary({ message: "nowhere" }), Code.NOT_FOUND, /^no feature named nowhere$/);
    await rejectsWith(client.clientStream([{}, {}, {}]), Code.OUT_OF_RANGE, /^3 requests$/);
    await rejectsWith(collect(client.serverStream({})), Code.PERMISSION_DENIED, /^not yours$/);
    await rejectsWith(collect(client.bidi([{}])), Code.UNAUTHENTICATED, /^who are you$/);
    const sync = await clientFor(t, syncAbortOnly, options);
    await rejectsWith(sync.unary({}), Code.ABORTED, /^sync$/);
  });

  test(`${name}: no response after setStatus(non-OK) sends that status and its trailers`, T, async (t) => {
    const client = await clientFor(t, returnsNothing, options);
    const error = await rejectsWith(client.unary({ message: "fail" }), Code.NOT_FOUND, /^set, not thrown$/);
    assert.deepEqual(error.metadata.getAll("x-why"), ["missing"]);
    await rejectsWith(client.clientStream([{}, { message: "fail" }]), Code.FAILED_PRECONDITION, /^stream said fail$/);
  });

  test(`${name}: no response and no failure status is INTERNAL naming the method`, T, async (t) => {
    const client = await clientFor(t, returnsNothing, options);
    await rejectsWith(client.unary({ message: "plain" }), Code.INTERNAL, /^handler for \/tsgrpc\.test\.Echo\/Unary returned no response/);
    // setStatus(OK) is no excuse: there is still no response message to send.
    await rejectsWith(client.unary({ message: "ok-status" }), Code.INTERNAL, /^handler for \/tsgrpc\.test\.Echo\/Unary returned no response/);
    await rejectsWith(client.clientStream([{}, {}]), Code.INTERNAL, /^handler for \/tsgrpc\.test\.Echo\/ClientStream returned no response/);
  });

  test(`${name}: streaming handlers that return nothing end OK with no messages`, T, async (t) => {
    const client = await clientFor(t, returnsNothing, options);
    assert.deepEqual(await collect(client.serverStream({ count: 3 })), []);
    assert.deepEqual(await collect(client.bidi([{}, {}])), []);
  });
}

test("a handler that returns a response still sends it (the undefined check does not touch real responses)", T, async (t) => {
  for (const { options } of paths) {
    const client = await clientFor(t, {}, options);
    assert.equal((await client.unary({ message: "echo" })).message, "echo");
    assert.equal((await client.clientStream([{ message: "a" }, { message: "b" }])).message, "a,b");
  }
});
