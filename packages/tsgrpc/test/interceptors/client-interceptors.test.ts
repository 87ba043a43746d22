import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  CallCredentials,
  ChannelCredentials,
  Code,
  createChannel,
  createClient,
  interceptChannel,
  mapRequests,
  mapResponses,
  Metadata,
  respond,
  RpcError,
  unaryMethodHandler,
  unaryUnary,
  type ClientCallDetails,
  type ClientInterceptor,
  type ChannelOptions,
  type ServiceImplementation,
} from "tsgrpc";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Echo, EchoRequestSchema, EchoResponseSchema, type EchoRequest, type EchoResponse } from "../gen/echo_pb.js";
import { collect, freePort, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { aborted, deferred, echoImpl, sleep, UNARY, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };

/** An Echo client whose channel has `interceptors`; channel closed after the test. */
function interceptedClient(t: TestContext, port: number, interceptors: ClientInterceptor[], options: ChannelOptions = {}) {
  const channel = createChannel(`127.0.0.1:${port}`, undefined, { ...options, interceptors });
  t.after(() => channel.close());
  return { channel, client: createClient(Echo, channel) };
}

/** Records "name:before" when a call passes down and "name:after" when its status comes back. */
function recorder(name: string, log: string[]): ClientInterceptor {
  return (next) => async (call) => {
    log.push(`${name}:before:${call.kind}`);
    const result = await next(call);
    void result.status.then((status) => log.push(`${name}:after:${Code[status.code]}`));
    return result;
  };
}

test("interceptors run in the order given, for all four call kinds, and see the call kind", T, async (t) => {
  const { port } = await serve(t);
  const log: string[] = [];
  const { client } = interceptedClient(t, port, [recorder("a", log), recorder("b", log)]);

  assert.equal((await client.unary({ message: "u" })).message, "u");
  assert.deepEqual(log.splice(0), ["a:before:unary", "b:before:unary", "b:after:OK", "a:after:OK"]);

  assert.equal((await collect(client.serverStream({ message: "s", count: 3 }))).length, 3);
  await until(() => log.length === 4);
  assert.deepEqual(log.splice(0), ["a:before:server_streaming", "b:before:server_streaming", "b:after:OK", "a:after:OK"]);

  assert.equal((await client.clientStream([{ message: "x" }, { message: "y" }])).message, "x,y");
  assert.deepEqual(log.splice(0), ["a:before:client_streaming", "b:before:client_streaming", "b:after:OK", "a:after:OK"]);

  const bidi = await collect(client.bidi([{ message: "p" }, { message: "q" }]));
  assert.deepEqual(bidi.map((r) => r.message), ["p", "q"]);
  await until(() => log.length === 4);
  assert.deepEqual(log.splice(0), ["a:before:bidi_streaming", "b:before:bidi_streaming", "b:after:OK", "a:after:OK"]);
});

test("an interceptor changes metadata, and reads the response headers and trailers", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (request, ctx) => {
        ctx.sendHeaders({ "x-head": "h" });
        ctx.setTrailers({ "x-tail": "t" });
        return { message: `${ctx.metadata.get("x-added")}|${ctx.metadata.getAll("x-user").join("+")}` };
      },
    }),
  );
  const seen: Array<[string, string]> = [];
  const { client } = interceptedClient(t, port, [
    (next) => async (call) => {
      call.metadata.set("x-added", "by-interceptor");
      const result = await next(call);
      seen.push(["head", String((await result.headers).get("x-head"))]);
      seen.push(["tail", String((await result.status).metadata.get("x-tail"))]);
      return result;
    },
  ]);
  const userMetadata = new Metadata({ "x-user": "me" });
  const call = client.unary({ message: "m" }, { metadata: userMetadata });
  assert.equal((await call).message, "by-interceptor|me");
  assert.deepEqual(seen, [["head", "h"], ["tail", "t"]]);
  assert.equal((await call.headers).get("x-head"), "h");
  assert.equal((await call.trailers).get("x-tail"), "t");
  // The caller's own Metadata is not changed: the interceptor got a copy.
  assert.equal(userMetadata.has("x-added"), false);
});

test("an interceptor sends the call to another method", T, async (t) => {
  const codec = {
    deserialize: (bytes: Uint8Array) => fromBinary(EchoRequestSchema, bytes),
    serialize: (response: { message: string }) => toBinary(EchoResponseSchema, create(EchoResponseSchema, response)),
  };
  const { port } = await serve(t, (s) => {
    s.addService(Echo, echoImpl);
    s.addMethod("/tsgrpc.test.EchoV2/Unary", unaryMethodHandler((r: EchoRequest) => ({ message: `v2:${r.message}` }), codec.deserialize, codec.serialize));
  });
  const { client } = interceptedClient(t, port, [
    (next) => (call) => next(call.method === UNARY ? { ...call, method: "/tsgrpc.test.EchoV2/Unary" } : call),
  ]);
  assert.equal((await client.unary({ message: "hi" })).message, "v2:hi");
});

test("an interceptor sets a timeout: the server sees the deadline and the call ends DEADLINE_EXCEEDED", T, async (t) => {
  let serverDeadline = Infinity;
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: async (request, ctx) => {
        serverDeadline = ctx.deadline;
        await sleep(request.delayMs);
        return { message: "late" };
      },
    }),
  );
  const { client } = interceptedClient(t, port, [(next) => (call) => next({ ...call, deadline: Date.now() + 100 })]);
  const started = Date.now();
  await rejectsWith(client.unary({ message: "slow", delayMs: 2000 }), Code.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - started < 1500, "the interceptor's deadline was used");
  assert.ok(Number.isFinite(serverDeadline), "the grpc-timeout reached the server");
});

test("an interceptor turns on wait-for-ready: a call to a server not yet listening waits instead of failing fast", T, async (t) => {
  const port = await freePort();
  const plain = createChannel(`127.0.0.1:${port}`, undefined, { backoff: { initialMs: 50, maxMs: 100 } });
  t.after(() => plain.close());
  await rejectsWith(createClient(Echo, plain).unary({ message: "fast" }, { timeoutMs: 2000 }), Code.UNAVAILABLE);

  const waiting = interceptChannel(plain, (next) => (call) => next({ ...call, waitForReady: true }));
  const call = createClient(Echo, waiting).unary({ message: "patient" }, { timeoutMs: 5000 });
  await sleep(300);
  const { close } = await serveOn(t, port);
  assert.equal((await within(call, 5000, "the waiting call")).message, "patient");
  await close();
});

/** Echo on a given port (for wait-for-ready). */
async function serveOn(t: TestContext, port: number) {
  const { createServer } = await import("tsgrpc");
  const server = createServer();
  server.addService(Echo, echoImpl);
  await server.bind(`127.0.0.1:${port}`);
  t.after(() => server.forceShutdown());
  return { close: () => server.forceShutdown() };
}

test("an interceptor adds call credentials", T, async (t) => {
  let authorization: string | undefined;
  const { port } = await serve(t, (s) =>
    s.addService(Echo, { ...echoImpl, unary: (r, ctx) => ((authorization = ctx.metadata.getString("authorization")), { message: r.message }) }),
  );
  const channel = createChannel(`127.0.0.1:${port}`, ChannelCredentials.local(), {
    interceptors: [(next) => (call) => next({ ...call, credentials: CallCredentials.accessToken("from-interceptor") })],
  });
  t.after(() => channel.close());
  assert.equal((await createClient(Echo, channel).unary({ message: "c" })).message, "c");
  assert.equal(authorization, "Bearer from-interceptor");
});

test("interceptors observe and change requests and responses of streaming calls", T, async (t) => {
  const { port } = await serve(t);
  const sentByClient: string[] = [];
  const receivedByClient: string[] = [];
  const { client } = interceptedClient(t, port, [
    (next) => async (call) => {
      const upper = mapRequests(call, (r: EchoRequest) => {
        sentByClient.push(r.message);
        return { ...r, message: r.message.toUpperCase() };
      });
      return mapResponses(await next(upper), (r: EchoResponse, index) => {
        receivedByClient.push(r.message);
        return { ...r, message: `${r.message}#${index}` };
      });
    },
  ]);

  const bidi = await collect(client.bidi([{ message: "a" }, { message: "b" }, { message: "c" }]));
  assert.deepEqual(bidi.map((r) => r.message), ["A#0", "B#1", "C#2"]);
  assert.deepEqual(sentByClient.splice(0), ["a", "b", "c"]);
  assert.deepEqual(receivedByClient.splice(0), ["A", "B", "C"]);

  const streamed = await collect(client.serverStream({ message: "s", count: 2 }));
  assert.deepEqual(streamed.map((r) => r.message), ["S#0", "S#1"]);

  assert.equal((await client.clientStream([{ message: "x" }, { message: "y" }])).message, "X,Y#0");
  assert.equal((await client.unary({ message: "u" })).message, "U#0");
});

test("a retry interceptor repeats a unary call that failed UNAVAILABLE, with the same request", T, async (t) => {
  const attempts: string[] = [];
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (request, ctx) => {
        attempts.push(`${request.message}/${ctx.metadata.get("x-attempt")}`);
        if (attempts.length < 3) throw new RpcError(Code.UNAVAILABLE, `try again (${attempts.length})`);
        return { message: `ok after ${attempts.length}` };
      },
    }),
  );
  const retry: ClientInterceptor = (next) => async (call) => {
    for (let attempt = 1; ; attempt++) {
      const metadata = call.metadata.clone().set("x-attempt", String(attempt));
      const result = await next({ ...call, metadata });
      if (call.kind !== "unary" || attempt === 5) return result;
      const status = await result.status;
      if (status.code !== Code.UNAVAILABLE) return result;
    }
  };
  const { client } = interceptedClient(t, port, [retry]);
  const call = client.unary({ message: "r" });
  assert.equal((await call).message, "ok after 3");
  assert.deepEqual(attempts, ["r/1", "r/2", "r/3"]);
  assert.equal((await call.status).code, Code.OK);
});

test("an interceptor answers without calling the server: a response, a stream, or an error", T, async (t) => {
  let served = 0;
  const { port } = await serve(t, (s) => s.addService(Echo, { ...echoImpl, unary: (r) => (served++, { message: r.message }) }));
  const { client } = interceptedClient(t, port, [
    (next) => async (call) => {
      const metadata = call.metadata;
      if (metadata.get("x-cache") === "hit") return respond([{ message: "cached" }], { headers: { "x-from": "cache" }, trailers: { "x-t": "1" } });
      if (metadata.get("x-cache") === "stream") return respond([{ message: "one" }, { message: "two" }]);
      if (metadata.get("x-deny") === "yes") throw new RpcError(Code.PERMISSION_DENIED, "denied by the interceptor");
      if (metadata.get("x-crash") === "yes") throw new Error("interceptor bug");
      return next(call);
    },
  ]);

  const cached = client.unary({ message: "m" }, { metadata: { "x-cache": "hit" } });
  assert.equal((await cached).message, "cached");
  assert.equal((await cached.headers).get("x-from"), "cache");
  assert.equal((await cached.trailers).get("x-t"), "1");

  const stream = await collect(client.serverStream({ message: "s", count: 5 }, { metadata: { "x-cache": "stream" } }));
  assert.deepEqual(stream.map((r) => r.message), ["one", "two"]);

  const denied = client.unary({ message: "m" }, { metadata: { "x-deny": "yes" } });
  const error = await rejectsWith(denied, Code.PERMISSION_DENIED, /denied by the interceptor/);
  assert.ok(error instanceof RpcError);
  assert.equal((await denied.status).code, Code.PERMISSION_DENIED);

  await rejectsWith(client.bidi([{ message: "b" }], { metadata: { "x-deny": "yes" } })[Symbol.asyncIterator]().next(), Code.PERMISSION_DENIED);
  await rejectsWith(client.unary({ message: "m" }, { metadata: { "x-crash": "yes" } }), Code.UNKNOWN, /interceptor bug/);

  assert.equal(served, 0, "the server never saw these calls");
  assert.equal((await client.unary({ message: "real" })).message, "real");
  assert.equal(served, 1);
});

test("a response the interceptor makes wrong is caught: two responses for a unary call is UNIMPLEMENTED", T, async (t) => {
  const { port } = await serve(t);
  const { client } = interceptedClient(t, port, [() => async () => respond([{ message: "1" }, { message: "2" }])]);
  const call = client.unary({ message: "m" });
  await rejectsWith(call, Code.UNIMPLEMENTED);
  assert.equal((await call.status).code, Code.UNIMPLEMENTED);
});

test("cancelling an intercepted call reaches the server, and also ends a call an interceptor holds", T, async (t) => {
  const serverSignal = deferred<AbortSignal>();
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *serverStream(request, ctx) {
        serverSignal.resolve(ctx.signal);
        yield { message: "first", index: 0 };
        await aborted(ctx.signal);
      },
    }),
  );
  const { client } = interceptedClient(t, port, [(next) => async (call) => mapResponses(await next(call), (r) => r)]);
  const call = client.serverStream({ message: "s" });
  const iterator = call[Symbol.asyncIterator]();
  assert.equal((await iterator.next()).value?.message, "first");
  call.cancel();
  await rejectsWith(iterator.next(), Code.CANCELLED);
  assert.equal((await call.status).code, Code.CANCELLED);
  await within(aborted(await serverSignal.promise), 5000, "the server seeing the cancel");

  // A signal aborted before the call: it fails CANCELLED at once, for either shape.
  const early = new AbortController();
  early.abort();
  await rejectsWith(within(client.unary({ message: "x" }, { signal: early.signal }), 5000, "a pre-cancelled unary call"), Code.CANCELLED);
  await rejectsWith(within(collect(client.serverStream({ message: "x" }, { signal: early.signal })), 5000, "a pre-cancelled stream"), Code.CANCELLED);

  // An interceptor that never answers: cancel still ends the call.
  const stuck = interceptedClient(t, port, [() => () => new Promise(() => undefined)]).client;
  const controller = new AbortController();
  const held = stuck.unary({ message: "held" }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await rejectsWith(within(held, 5000, "the held call"), Code.CANCELLED);
});

test("breaking out of an intercepted stream cancels the call on the server", T, async (t) => {
  const serverSignal = deferred<AbortSignal>();
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *serverStream(request, ctx) {
        serverSignal.resolve(ctx.signal);
        for (let index = 0; !ctx.signal.aborted; index++) {
          yield { message: "tick", index };
          await sleep(5);
        }
      },
    }),
  );
  const { client } = interceptedClient(t, port, [(next) => async (call) => mapResponses(await next(call), (r) => r)]);
  const call = client.serverStream({ message: "s" });
  for await (const response of call) if (response.index === 2) break;
  await within(aborted(await serverSignal.promise), 5000, "the server seeing the cancel");
  assert.equal((await call.status).code, Code.CANCELLED);
});

test("per-client interceptors run before the channel's; interceptChannel stacks in front; callables go through them", T, async (t) => {
  const { port } = await serve(t);
  const log: string[] = [];
  const channel = createChannel(`127.0.0.1:${port}`, undefined, { interceptors: [recorder("channel", log)] });
  t.after(() => channel.close());
  const outer = interceptChannel(channel, recorder("outer", log));
  const client = createClient(Echo, outer, { interceptors: [recorder("client", log)], metadata: { "x-default": "1" } });
  assert.equal((await client.unary({ message: "u" })).message, "u");
  assert.deepEqual(log.splice(0, 3), ["client:before:unary", "outer:before:unary", "channel:before:unary"]);
  await until(() => log.length === 3);
  log.length = 0;

  // Low-level callables: the same chain.
  const raw = unaryUnary(outer, UNARY, (r: EchoRequest) => toBinary(EchoRequestSchema, r), (b) => fromBinary(EchoResponseSchema, b));
  assert.equal((await raw(create(EchoRequestSchema, { message: "raw" }))).message, "raw");
  assert.deepEqual(log.slice(0, 2), ["outer:before:unary", "channel:before:unary"]);

  // The intercepted channel is the same channel: same state, and closing either closes both.
  assert.equal(outer.getState(), channel.getState());
  outer.close();
  assert.equal(channel.getState(), outer.getState());
  await rejectsWith(client.unary({ message: "after close" }), Code.UNAVAILABLE);
});

test("interceptors are checked when the channel is made", () => {
  assert.throws(
    () => createChannel("127.0.0.1:1", undefined, { interceptors: [{} as unknown as ClientInterceptor] }),
    /interceptor 0 is not a function/,
  );
});

test("an interceptor sees every field of the call", T, async (t) => {
  const { port } = await serve(t);
  let seen: ClientCallDetails | undefined;
  const { client } = interceptedClient(t, port, [(next) => (call) => ((seen = call), next(call))]);
  const before = Date.now();
  await client.unary({ message: "f" }, { timeoutMs: 5000, waitForReady: true, compression: "gzip", metadata: { a: "1" } });
  assert.ok(seen);
  assert.equal(seen.method, UNARY);
  assert.equal(seen.kind, "unary");
  assert.equal(seen.metadata.get("a"), "1");
  assert.ok(seen.deadline >= before + 5000 && seen.deadline <= Date.now() + 5000);
  assert.equal(seen.waitForReady, true);
  assert.equal(seen.compression, "gzip");
  assert.equal(seen.credentials, undefined);
  assert.equal(seen.signal.aborted, false);
  assert.ok(Array.isArray(seen.requests));
  assert.equal((seen.requests as EchoRequest[])[0]?.message, "f");
});
