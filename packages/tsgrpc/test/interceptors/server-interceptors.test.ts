import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  Code,
  createServer,
  mapRequests,
  mapResponses,
  passThrough,
  RpcError,
  serverStreamingMethodHandler,
  unaryMethodHandler,
  type ServerCallDetails,
  type ServerInterceptor,
  type ServiceImplementation,
  type Status,
} from "tsgrpc";
import { Echo, type EchoRequest, type EchoResponse } from "../gen/echo_pb.js";
import { collect, echoClient, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { aborted, deferred, echoImpl, sleep, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };

/** An Echo server (with `impl`) behind `interceptors`, and a plain client for it. */
async function setup(t: TestContext, interceptors: ServerInterceptor[], impl: ServiceImplementation<typeof Echo> = echoImpl) {
  const { port } = await serve(t, (s) => s.addService(Echo, impl), { interceptors });
  return echoClient(t, port).client;
}

function recorder(name: string, log: string[]): ServerInterceptor {
  return (next) => async (call) => {
    log.push(`${name}:before:${call.kind}:${call.method.slice(call.method.lastIndexOf("/") + 1)}`);
    void call.status.then((status) => log.push(`${name}:end:${Code[status.code]}`));
    const result = await next(call);
    log.push(`${name}:after`);
    return result;
  };
}

test("server interceptors run in the order given, before the handler, for all four kinds", T, async (t) => {
  const log: string[] = [];
  const handlerRan = (kind: string) => log.push(`handler:${kind}`);
  const client = await setup(t, [recorder("a", log), recorder("b", log)], {
    unary: (r) => (handlerRan("unary"), { message: r.message }),
    async *serverStream(r) {
      handlerRan("server_streaming");
      yield { message: r.message };
    },
    async clientStream(requests) {
      handlerRan("client_streaming");
      const parts: string[] = [];
      for await (const r of requests) parts.push(r.message);
      return { message: parts.join(",") };
    },
    async *bidi(requests) {
      handlerRan("bidi_streaming");
      for await (const r of requests) yield { message: r.message };
    },
  });

  assert.equal((await client.unary({ message: "u" })).message, "u");
  await until(() => log.length === 7);
  assert.deepEqual(log.splice(0), ["a:before:unary:Unary", "b:before:unary:Unary", "handler:unary", "b:after", "a:after", "a:end:OK", "b:end:OK"]);

  await collect(client.serverStream({ message: "s" }));
  await until(() => log.length === 7);
  // A streaming handler runs as its responses are read: after the chain has returned them.
  assert.deepEqual(log.splice(0, 5), ["a:before:server_streaming:ServerStream", "b:before:server_streaming:ServerStream", "b:after", "a:after", "handler:server_streaming"]);
  log.length = 0;

  assert.equal((await client.clientStream([{ message: "x" }, { message: "y" }])).message, "x,y");
  await until(() => log.length === 7);
  assert.deepEqual(log.splice(0, 3), ["a:before:client_streaming:ClientStream", "b:before:client_streaming:ClientStream", "handler:client_streaming"]);
  log.length = 0;

  await collect(client.bidi([{ message: "p" }]));
  await until(() => log.length === 7);
  assert.deepEqual(log.splice(0, 2), ["a:before:bidi_streaming:Bidi", "b:before:bidi_streaming:Bidi"]);
});

test("an auth-check interceptor rejects a call with a status before the handler runs", T, async (t) => {
  let handled = 0;
  const auth: ServerInterceptor = (next) => (call) => {
    if (call.metadata.get("authorization") !== "Bearer good") {
      call.context.setTrailers({ "x-reason": "no-token" });
      throw new RpcError(Code.UNAUTHENTICATED, "missing or bad token");
    }
    return next(call);
  };
  const client = await setup(t, [auth], { ...echoImpl, unary: (r) => (handled++, { message: r.message }) });

  const refused = client.unary({ message: "m" });
  const error = await rejectsWith(refused, Code.UNAUTHENTICATED, /missing or bad token/);
  assert.equal(error.metadata.get("x-reason"), "no-token");
  await rejectsWith(collect(client.bidi([{ message: "b" }])), Code.UNAUTHENTICATED);
  assert.equal(handled, 0);

  assert.equal((await client.unary({ message: "ok" }, { metadata: { authorization: "Bearer good" } })).message, "ok");
  assert.equal(handled, 1);
});

test("an interceptor wraps the handler: observes requests and responses, changes them, and sees the end status", T, async (t) => {
  const requestsSeen: string[] = [];
  const responsesSeen: string[] = [];
  const ends: Status[] = [];
  const observe: ServerInterceptor = (next) => async (call) => {
    void call.status.then((s) => ends.push(s));
    const observed = mapRequests(call, (r: EchoRequest) => {
      requestsSeen.push(r.message);
      return { ...r, message: `<${r.message}>` };
    });
    return mapResponses(await next(observed), (r: EchoResponse) => {
      responsesSeen.push(r.message);
      return { ...r, message: r.message.toUpperCase() };
    });
  };
  const client = await setup(t, [observe]);

  assert.deepEqual((await collect(client.bidi([{ message: "a" }, { message: "b" }]))).map((r) => r.message), ["<A>", "<B>"]);
  assert.deepEqual(requestsSeen.splice(0), ["a", "b"]);
  assert.deepEqual(responsesSeen.splice(0), ["<a>", "<b>"]);

  assert.deepEqual((await collect(client.serverStream({ message: "s", count: 3 }))).map((r) => r.index), [0, 1, 2]);
  assert.deepEqual(responsesSeen.splice(0), ["<s>", "<s>", "<s>"]);

  assert.equal((await client.clientStream([{ message: "x" }, { message: "y" }])).message, "<X>,<Y>");
  assert.equal((await client.unary({ message: "u" })).message, "<U>");
  await until(() => ends.length === 4);
  assert.ok(ends.every((s) => s.code === Code.OK));
});

test("an interceptor hands the call to another handler, whose codec then reads and writes the messages", T, async (t) => {
  let original = 0;
  // Raw bytes in and out: the EchoRequest bytes go back as they came (field 1 is `message` in both types).
  const rawEcho = unaryMethodHandler((bytes: Uint8Array) => bytes, passThrough, passThrough);
  const handOff: ServerInterceptor = (next) => (call) =>
    call.metadata.get("x-route") === "raw" ? next({ ...call, handler: rawEcho }) : next(call);
  const client = await setup(t, [handOff], { ...echoImpl, unary: (r) => (original++, { message: `original:${r.message}` }) });

  assert.equal((await client.unary({ message: "m" }, { metadata: { "x-route": "raw" } })).message, "m");
  assert.equal(original, 0);
  assert.equal((await client.unary({ message: "m" })).message, "original:m");

  // A handler of another kind cannot take the call.
  const wrongKind = serverStreamingMethodHandler(async function* () {}, passThrough, passThrough);
  const { port } = await serve(t, (s) => s.addService(Echo, echoImpl), {
    interceptors: [(next) => (call) => next({ ...call, handler: wrongKind })],
  });
  await rejectsWith(echoClient(t, port).client.unary({ message: "m" }), Code.INTERNAL, /cannot be handed/);
});

test("an interceptor answers by itself; a non-status error is UNKNOWN; unknown methods stay UNIMPLEMENTED", T, async (t) => {
  const log: string[] = [];
  const stub: ServerInterceptor = (next) => async (call) => {
    log.push(call.method);
    if (call.metadata.get("x-stub") === "yes") return { responses: [{ message: "stubbed" }] };
    if (call.metadata.get("x-crash") === "yes") throw new Error("interceptor bug");
    return next(call);
  };
  const client = await setup(t, [stub]);
  assert.equal((await client.unary({ message: "m" }, { metadata: { "x-stub": "yes" } })).message, "stubbed");
  await rejectsWith(client.unary({ message: "m" }, { metadata: { "x-crash": "yes" } }), Code.UNKNOWN, /interceptor bug/);
  const { client: other } = echoClient(t, (await serve(t, () => undefined, { interceptors: [stub] })).port);
  await rejectsWith(other.unary({ message: "nobody" }), Code.UNIMPLEMENTED);
  assert.equal(log.length, 2, "interceptors run only for methods the server serves");
});

test("the status an interceptor sees covers errors, cancellation and deadlines", T, async (t) => {
  const ends: string[] = [];
  const started = deferred<AbortSignal>();
  const client = await setup(t, [(next) => (call) => (void call.status.then((s) => ends.push(`${Code[s.code]}:${s.details}`)), next(call))], {
    ...echoImpl,
    unary: async (r, ctx) => {
      if (r.message === "fail") throw new RpcError(Code.NOT_FOUND, "no such thing");
      if (r.message === "hang") {
        started.resolve(ctx.signal);
        await aborted(ctx.signal);
      }
      if (r.message === "slow") await sleep(2000);
      return { message: r.message };
    },
  });
  await rejectsWith(client.unary({ message: "fail" }), Code.NOT_FOUND);
  const controller = new AbortController();
  const hanging = client.unary({ message: "hang" }, { signal: controller.signal });
  await started.promise;
  controller.abort();
  await rejectsWith(hanging, Code.CANCELLED);
  await rejectsWith(client.unary({ message: "slow" }, { timeoutMs: 50 }), Code.DEADLINE_EXCEEDED);
  await within(until(() => ends.length === 3), 5000, "three end statuses");
  const codes = ends.map((e) => e.split(":")[0]);
  assert.deepEqual(codes.slice(0, 2), ["NOT_FOUND", "CANCELLED"]);
  // The server's own deadline timer and the client's RST_STREAM (sent at the same deadline) race.
  assert.ok(codes[2] === "DEADLINE_EXCEEDED" || codes[2] === "CANCELLED", `the deadline call ended ${codes[2]}`);
});

test("server interceptors are checked when the server is made", () => {
  assert.throws(() => createServer({ interceptors: [42 as unknown as ServerInterceptor] }), /server interceptor 0 is not a function/);
});

test("a server interceptor sees the call's method, kind, metadata, peer and context", T, async (t) => {
  let seen: ServerCallDetails | undefined;
  const client = await setup(t, [(next) => (call) => ((seen = call), next(call))]);
  await client.unary({ message: "m" }, { metadata: { "x-k": "v" }, timeoutMs: 5000 });
  assert.ok(seen);
  assert.equal(seen.method, "/tsgrpc.test.Echo/Unary");
  assert.equal(seen.kind, "unary");
  assert.equal(seen.metadata.get("x-k"), "v");
  assert.match(seen.peer, /^ipv4:127\.0\.0\.1:\d+$/);
  assert.equal(seen.context.method, "/tsgrpc.test.Echo/Unary");
  assert.ok(Number.isFinite(seen.context.deadline));
  assert.equal(seen.handler.kind, "unary");
});
