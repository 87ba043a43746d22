import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, Metadata, RpcError, type ServerContext, type ServiceImplementation } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { RawHttp2Client, rawValues } from "../helpers/raw-http2-client.js";
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

const T = { timeout: 10_000 };

/** A server whose Unary handler is `unary`, plus a connected raw client; both closed after the test. */
async function setup(
  t: { after(fn: () => Promise<void>): void },
  unary: (request: unknown, ctx: ServerContext) => unknown,
  more: ServiceImplementation<typeof Echo> = {},
): Promise<{ client: RawHttp2Client; server: TestServer }> {
  const server = await startTestServer((s) => s.addService(Echo, { ...echoImpl, ...more, unary: unary as never }));
  const client = await RawHttp2Client.connect(server.port);
  t.after(async () => {
    await client.close();
    await server.close();
  });
  return { client, server };
}

test("incoming metadata: text, -bin (padded, unpadded, comma-joined) and repeated keys in order", T, async (t) => {
  let seen: Metadata | undefined;
  const { client } = await setup(t, (_req, ctx) => {
    seen = ctx.metadata;
    return {};
  });
  const response = await client.call(UNARY, {
    messages: [encodeRequest()],
    headers: {
      "x-text": "hello world",
      "x-rep": ["first", "second", "third"],
      "x-padded-bin": Buffer.from([1, 2, 3, 4]).toString("base64"), // "AQIDBA=="
      "x-unpadded-bin": "AQIDBA",
      "x-joined-bin": "AQ==,AgM",
    },
  });
  assert.equal(response.grpcStatus, 0);
  assert.ok(seen);
  assert.equal(seen.get("x-text"), "hello world");
  assert.deepEqual(seen.getAll("x-rep"), ["first", "second", "third"]);
  assert.deepEqual([...(seen.get("x-padded-bin") as Uint8Array)], [1, 2, 3, 4]);
  assert.deepEqual([...(seen.get("x-unpadded-bin") as Uint8Array)], [1, 2, 3, 4]);
  assert.deepEqual(seen.getAll("x-joined-bin").map((v) => [...(v as Uint8Array)]), [[1], [2, 3]]);
  // Protocol headers are not metadata.
  for (const key of [":path", ":authority", "content-type", "te"]) assert.equal(seen.has(key), false, key);
  for (const key of seen.keys()) assert.ok(!key.startsWith("grpc-"), `reserved key ${key} exposed as metadata`);
});

test("peer is ipv4:127.0.0.1:<client port> and method is the path", T, async (t) => {
  let peer = "";
  let method = "";
  const { client } = await setup(t, (_req, ctx) => {
    peer = ctx.peer;
    method = ctx.method;
    return {};
  });
  await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(peer, `ipv4:127.0.0.1:${client.session.socket.localPort}`);
  assert.equal(method, "/tsgrpc.test.Echo/Unary");
});

test("deadline and timeRemaining follow grpc-timeout; no header means no deadline", T, async (t) => {
  const seen: Array<{ deadline: number; remaining: number; at: number }> = [];
  const { client } = await setup(t, (_req, ctx) => {
    seen.push({ deadline: ctx.deadline, remaining: ctx.timeRemaining(), at: Date.now() });
    return {};
  });
  const sentAt = Date.now();
  await client.call(UNARY, { messages: [encodeRequest()], headers: { "grpc-timeout": "5S" } });
  await client.call(UNARY, { messages: [encodeRequest()], headers: { "grpc-timeout": "2M" } });
  await client.call(UNARY, { messages: [encodeRequest()] });
  const [fiveSeconds, twoMinutes, none] = seen;
  assert.ok(fiveSeconds && twoMinutes && none);
  assert.ok(fiveSeconds.deadline >= sentAt + 5000 && fiveSeconds.deadline <= fiveSeconds.at + 5000, `${fiveSeconds.deadline - sentAt}`);
  assert.ok(fiveSeconds.remaining > 4000 && fiveSeconds.remaining <= 5000, `${fiveSeconds.remaining}`);
  assert.ok(twoMinutes.remaining > 119_000 && twoMinutes.remaining <= 120_000, `${twoMinutes.remaining}`);
  assert.equal(none.deadline, Infinity);
  assert.equal(none.remaining, Infinity);
});

test("signal fires with CANCELLED when the client sends RST_STREAM(CANCEL); onEnd runs; isActive turns false", T, async (t) => {
  const started = deferred<ServerContext>();
  const reason = deferred<unknown>();
  const ended = deferred();
  const { client } = await setup(t, async (_req, ctx) => {
    ctx.onEnd(() => ended.resolve());
    started.resolve(ctx);
    reason.resolve(await aborted(ctx.signal));
    return {};
  });
  const call = client.start(UNARY);
  call.send(encodeRequest());
  call.end();
  const ctx = await started.promise;
  assert.equal(ctx.isActive, true);
  assert.equal(ctx.signal.aborted, false);
  call.cancel();
  const why = await reason.promise;
  assert.ok(why instanceof RpcError);
  assert.equal(why.code, Code.CANCELLED);
  await ended.promise;
  assert.equal(ctx.isActive, false);
  const response = await call.response;
  assert.equal(response.rstCode, 8, "our own RST_STREAM(CANCEL)");
  assert.equal(response.grpcStatus, undefined, "nothing is sent on a cancelled stream");
});

test("signal fires with DEADLINE_EXCEEDED when grpc-timeout passes; the client gets grpc-status 4", T, async (t) => {
  const reason = deferred<unknown>();
  const ended = deferred();
  const { client } = await setup(t, async (_req, ctx) => {
    ctx.onEnd(() => ended.resolve());
    reason.resolve(await aborted(ctx.signal));
    return new Promise(() => {}); // never returns
  });
  const started = Date.now();
  const response = await client.call(UNARY, { messages: [encodeRequest()], headers: { "grpc-timeout": "100m" } });
  const elapsed = Date.now() - started;
  assert.equal(response.grpcStatus, Code.DEADLINE_EXCEEDED, response.grpcMessage);
  assert.ok(elapsed >= 95 && elapsed < 2000, `ended after ${elapsed} ms`);
  const why = await reason.promise;
  assert.ok(why instanceof RpcError);
  assert.equal(why.code, Code.DEADLINE_EXCEEDED);
  await ended.promise;
});

test("deadline while a server stream is blocked on flow control: status 4 or a reset, and the handler stops", T, async (t) => {
  const ended = deferred();
  let produced = 0;
  const big = new Uint8Array(64 * 1024);
  const server = await startTestServer((s) =>
    s.addService(Echo, {
      async *serverStream(_req, ctx) {
        ctx.onEnd(() => ended.resolve());
        for (;;) {
          produced++;
          yield { payload: big };
        }
      },
    }),
  );
  const client = await RawHttp2Client.connect(server.port);
  t.after(async () => {
    await client.close();
    await server.close();
  });
  const call = client.start(SERVER_STREAM, { headers: { "grpc-timeout": "200m" } });
  call.pause();
  call.send(encodeRequest());
  call.end();
  await ended.promise; // the deadline ended the call although nothing was read
  const producedAtEnd = produced;
  call.resume();
  const response = await call.response;
  assert.ok(
    response.grpcStatus === Code.DEADLINE_EXCEEDED || (response.rstCode !== undefined && response.rstCode !== 0),
    `status ${response.grpcStatus}, rst ${response.rstCode}`,
  );
  await sleep(50);
  assert.equal(produced, producedAtEnd, "the generator is not pulled after the deadline");
});

test("sendHeaders sends initial metadata at once, before any message", T, async (t) => {
  const release = deferred();
  const { client } = await setup(t, async (_req, ctx) => {
    ctx.sendHeaders({ "x-initial": "yes", "x-initial-bin": new Uint8Array([0xff, 0x00]), "x-rep": ["1", "2"] });
    await release.promise;
    return { message: "after" };
  });
  const call = client.start(UNARY);
  call.send(encodeRequest());
  call.end();
  const head = await call.headersReceived;
  assert.equal(head["x-initial"], "yes");
  assert.equal(head["x-initial-bin"], "/wA", "binary metadata is base64 without padding");
  assert.equal(call.messages.length, 0, "the head came before the response message");
  release.resolve();
  const response = await call.response;
  assert.equal(response.trailersOnly, false);
  assert.deepEqual(rawValues(response.rawHeaders, "x-rep"), ["1", "2"]);
  assert.equal(response.grpcStatus, 0);
  assert.equal(decodeResponse(response.messages[0]!.payload).message, "after");
});

test("initial metadata set without sending goes out with the first message, and with an error status too", T, async (t) => {
  const { client } = await setup(t, (req, ctx) => {
    ctx.sendHeaders({ "x-head": "v" });
    if ((req as { message: string }).message === "fail") throw new RpcError(Code.NOT_FOUND, "nope");
    return {};
  });
  const ok = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(ok.headers?.["x-head"], "v");
  const failed = await client.call(UNARY, { messages: [encodeRequest({ message: "fail" })] });
  assert.equal(failed.headers?.["x-head"], "v");
  assert.equal(failed.grpcStatus, Code.NOT_FOUND);
  assert.equal(failed.trailersOnly, false, "headers were sent, so the status goes in trailers");
});

test("setTrailers: custom trailing metadata (text, -bin, repeated) next to grpc-status", T, async (t) => {
  const { client } = await setup(t, (_req, ctx) => {
    ctx.setTrailers({ "x-trailer": "t1", "x-trailer-bin": new Uint8Array([1, 2, 3, 4, 5]) });
    ctx.setTrailers({ "x-trailer": "t2" });
    return { message: "ok" };
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, 0);
  assert.deepEqual(rawValues(response.rawTrailers, "x-trailer"), ["t1", "t2"]);
  assert.equal(response.trailers?.["x-trailer-bin"], "AQIDBAU");
});

test("setStatus(code, details) on a normal return ends with that status and no response message", T, async (t) => {
  const { client } = await setup(
    t,
    (_req, ctx) => {
      ctx.setStatus(Code.NOT_FOUND, "no such thing");
      ctx.setTrailers({ "x-why": "missing" });
      return { message: "ignored" };
    },
    {
      async *serverStream(_req, ctx) {
        yield { index: 1 };
        ctx.setStatus(Code.OUT_OF_RANGE, "stopped early");
      },
    },
  );
  const unary = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(unary.grpcStatus, Code.NOT_FOUND);
  assert.equal(unary.grpcMessage, "no such thing");
  assert.equal(unary.messages.length, 0);
  assert.equal(unary.trailersOnly, true);
  assert.deepEqual(rawValues(unary.rawTrailers, "x-why"), ["missing"]);

  const stream = await client.call(SERVER_STREAM, { messages: [encodeRequest()] });
  assert.equal(stream.messages.length, 1);
  assert.equal(stream.grpcStatus, Code.OUT_OF_RANGE);
  assert.equal(stream.grpcMessage, "stopped early");
});

test("abort(code, details) before any message answers Trailers-Only with grpc-status and grpc-message", T, async (t) => {
  let after = false;
  const { client } = await setup(t, (_req, ctx) => {
    ctx.abort(Code.PERMISSION_DENIED, "go away");
    after = true;
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.trailersOnly, true);
  assert.equal(response.httpStatus, 200);
  assert.equal(response.headers?.["content-type"], "application/grpc");
  assert.equal(response.headers?.["grpc-status"], String(Code.PERMISSION_DENIED));
  assert.equal(response.headers?.["grpc-message"], "go away");
  assert.equal(response.messages.length, 0);
  assert.equal(after, false, "abort stops the handler");
});

test("abort with metadata, after setTrailers: each trailer appears exactly once", T, async (t) => {
  const { client } = await setup(t, (_req, ctx) => {
    ctx.setTrailers({ "x-set": "before" });
    ctx.abort(Code.FAILED_PRECONDITION, "bad state", { "x-abort": "with" });
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, Code.FAILED_PRECONDITION);
  assert.deepEqual(rawValues(response.rawTrailers, "x-set"), ["before"]);
  assert.deepEqual(rawValues(response.rawTrailers, "x-abort"), ["with"]);
});

test("a thrown RpcError keeps its code and metadata; trailers set before are kept once", T, async (t) => {
  const { client } = await setup(t, (_req, ctx) => {
    ctx.setTrailers({ "x-set": "before" });
    throw new RpcError(Code.ALREADY_EXISTS, "dup", new Metadata({ "x-err": "e" }));
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, Code.ALREADY_EXISTS);
  assert.equal(response.grpcMessage, "dup");
  assert.deepEqual(rawValues(response.rawTrailers, "x-set"), ["before"]);
  assert.deepEqual(rawValues(response.rawTrailers, "x-err"), ["e"]);
});

test("a thrown plain Error (sync or async, any kind) ends the call UNKNOWN", T, async (t) => {
  const { client } = await setup(
    t,
    () => {
      throw new Error("boom");
    },
    {
      async *serverStream() {
        yield { index: 0 };
        throw new TypeError("late boom");
      },
      async clientStream() {
        throw "not even an Error";
      },
    },
  );
  const unary = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(unary.grpcStatus, Code.UNKNOWN);
  assert.equal(unary.trailersOnly, true);

  const stream = await client.call(SERVER_STREAM, { messages: [encodeRequest()] });
  assert.equal(stream.messages.length, 1);
  assert.equal(stream.grpcStatus, Code.UNKNOWN);

  const clientStream = await client.call("/tsgrpc.test.Echo/ClientStream", { messages: [encodeRequest()] });
  assert.equal(clientStream.grpcStatus, Code.UNKNOWN);
});

test("grpc-message is percent-encoded UTF-8 for non-ASCII details and '%'", T, async (t) => {
  const details = "héllo 100% ✓\nline";
  const { client } = await setup(t, (_req, ctx) => ctx.abort(Code.INVALID_ARGUMENT, details));
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, Code.INVALID_ARGUMENT);
  assert.equal(response.grpcMessageRaw, "h%C3%A9llo 100%25 %E2%9C%93%0Aline");
  assert.equal(response.grpcMessage, details);
});

test("onEnd runs once after a normal finish, and at once when registered after the end", T, async (t) => {
  let count = 0;
  let ctxSeen: ServerContext | undefined;
  const { client } = await setup(t, (_req, ctx) => {
    ctxSeen = ctx;
    ctx.onEnd(() => count++);
    return {};
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, 0);
  await until(() => count === 1, 1000, "onEnd");
  let late = false;
  ctxSeen!.onEnd(() => (late = true));
  await until(() => late, 1000, "late onEnd");
  assert.equal(count, 1);
  assert.equal(ctxSeen!.isActive, false);
});

test("setCompression after the response head throws (the head already named the encoding)", T, async (t) => {
  let thrown: unknown;
  const { client } = await setup(t, () => ({}), {
    async *serverStream(_req, ctx) {
      yield { message: "first" };
      try {
        ctx.setCompression("gzip");
      } catch (err) {
        thrown = err;
      }
      yield { message: "second" };
    },
  });
  const response = await client.call(SERVER_STREAM, {
    messages: [encodeRequest({ count: 2 })],
    headers: { "grpc-accept-encoding": "gzip" },
  });
  assert.equal(response.grpcStatus, 0);
  assert.equal(response.messages.length, 2);
  assert.ok(thrown instanceof RpcError, `expected an RpcError, got ${String(thrown)}`);
  assert.equal(thrown.code, Code.INTERNAL);
  assert.match(thrown.details, /before the response head/);
  assert.equal(response.headers?.["grpc-encoding"], undefined, "the head went out uncompressed and stays so");
});

test("setCompression with an unknown name fails the call INTERNAL without crashing the server", T, async (t) => {
  const { client } = await setup(t, (_req, ctx) => {
    ctx.setCompression("brotli-9000");
    return {};
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, Code.INTERNAL);
  const again = await client.call(SERVER_STREAM, { messages: [encodeRequest({ count: 1 })] });
  assert.equal(again.grpcStatus, 0);
});

test("status reaches a client that has not half-closed (trailers, then RST_STREAM NO_ERROR, or CANCEL after a deadline)", T, async (t) => {
  const { client } = await setup(t, () => ({}), {
    async *bidi(requests, ctx) {
      for await (const request of requests) {
        if (request.message === "stop") ctx.abort(Code.ABORTED, "stopped by request");
        if (request.message === "wait") await new Promise(() => {}); // until the deadline
        yield { message: request.message };
      }
    },
  });
  const aborting = client.start("/tsgrpc.test.Echo/Bidi");
  aborting.send(encodeRequest({ message: "a" }));
  await aborting.waitForMessages(1);
  aborting.send(encodeRequest({ message: "stop" }));
  const abortedResponse = await aborting.response;
  assert.equal(abortedResponse.messages.length, 1);
  assert.equal(abortedResponse.grpcStatus, Code.ABORTED);
  assert.equal(abortedResponse.grpcMessage, "stopped by request");
  assert.equal(abortedResponse.rstCode, 0);

  const expiring = client.start("/tsgrpc.test.Echo/Bidi", { headers: { "grpc-timeout": "100m" } });
  expiring.send(encodeRequest({ message: "b" }));
  await expiring.waitForMessages(1);
  expiring.send(encodeRequest({ message: "wait" }));
  const expired = await expiring.response;
  assert.equal(expired.messages.length, 1);
  assert.equal(expired.grpcStatus, Code.DEADLINE_EXCEEDED);
  // The server gave up on the call (spec checklist: DEADLINE_EXCEEDED, then RST_STREAM CANCEL).
  assert.equal(expired.rstCode, 8);
});

test("a response that cannot be serialized fails the call INTERNAL", T, async (t) => {
  const { client } = await setup(t, () => ({ index: "not a number" }) as never, {
    async *serverStream() {
      yield { index: 1 };
      yield { payload: 42 } as never;
    },
  });
  const unary = await client.call(UNARY, { messages: [encodeRequest()] });
  assert.equal(unary.grpcStatus, Code.INTERNAL, unary.grpcMessage);
  const stream = await client.call(SERVER_STREAM, { messages: [encodeRequest()] });
  assert.equal(stream.messages.length, 1);
  assert.equal(stream.grpcStatus, Code.INTERNAL, stream.grpcMessage);
});
