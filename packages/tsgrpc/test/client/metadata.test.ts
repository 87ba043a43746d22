import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import { test } from "node:test";
import { Code, Metadata, RpcError, unaryUnary, type ServerContext } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, collect, countingProxy, echoClient, grpcFrame, rawServer, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { deferred, echoImpl } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** An Echo server whose unary handler records the request metadata. */
async function recordingServer(t: Parameters<typeof serve>[0], unary?: (ctx: ServerContext) => void) {
  const seen: Metadata[] = [];
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r, ctx) => {
        seen.push(ctx.metadata);
        unary?.(ctx);
        return { message: r.message };
      },
    }),
  );
  return { port, seen };
}

test("request metadata: text, -bin and repeated keys reach the server in order", T, async (t) => {
  const { port, seen } = await recordingServer(t);
  const { client } = echoClient(t, port);
  const metadata = new Metadata()
    .add("x-text", "hello world")
    .add("x-rep", "one")
    .add("x-other", "between")
    .add("x-rep", "two")
    .add("x-rep", "three")
    .add("x-all-bytes-bin", ALL_BYTES)
    .add("x-short-bin", new Uint8Array([0xfb])) // base64 would need padding
    .add("x-empty-bin", new Uint8Array())
    .add("x-rep-bin", new Uint8Array([1]))
    .add("x-rep-bin", new Uint8Array([2, 3]));
  await client.unary({ message: "m" }, { metadata });
  const got = seen[0]!;
  assert.equal(got.get("x-text"), "hello world");
  assert.deepEqual(got.getAll("x-rep"), ["one", "two", "three"]);
  assert.deepEqual([...(got.get("x-all-bytes-bin") as Uint8Array)], [...ALL_BYTES]);
  assert.deepEqual([...(got.get("x-short-bin") as Uint8Array)], [0xfb]);
  assert.deepEqual([...(got.get("x-empty-bin") as Uint8Array)], []);
  assert.deepEqual(got.getAll("x-rep-bin").map((v) => [...(v as Uint8Array)]), [[1], [2, 3]]);
});

test("request metadata may be a plain record (with arrays), a list of pairs, or Metadata", T, async (t) => {
  const { port, seen } = await recordingServer(t);
  const { client } = echoClient(t, port);
  await client.unary({}, { metadata: { "x-a": "1", "x-list": ["p", "q"], "x-b-bin": Buffer.from("hi"), "x-skip": undefined } });
  await client.unary({}, { metadata: [["x-pair", "1"], ["x-pair", "2"]] });
  await client.unary({}, { metadata: new Metadata({ "X-Upper-Case": "lowered" }) });
  assert.equal(seen[0]!.get("x-a"), "1");
  assert.deepEqual(seen[0]!.getAll("x-list"), ["p", "q"]);
  assert.equal(Buffer.from(seen[0]!.get("x-b-bin") as Uint8Array).toString(), "hi");
  assert.equal(seen[0]!.has("x-skip"), false);
  assert.deepEqual(seen[1]!.getAll("x-pair"), ["1", "2"]);
  assert.equal(seen[2]!.get("x-upper-case"), "lowered");
});

test("invalid request metadata is refused before anything is sent", T, async (t) => {
  const { port, seen } = await recordingServer(t);
  const { client } = echoClient(t, port);
  assert.throws(() => client.unary({}, { metadata: { "bad key": "x" } }), TypeError);
  assert.throws(() => client.unary({}, { metadata: { "x-text": "line\nbreak" } }), TypeError);
  assert.throws(() => client.unary({}, { metadata: { "x-bin": "not bytes" } }), TypeError);
  await client.unary({});
  assert.equal(seen.length, 1);
});

test("response metadata: initial via `await call.headers`, trailing via call.trailers, status via call.status", T, async (t) => {
  const { port } = await recordingServer(t, (ctx) => {
    ctx.sendHeaders(new Metadata().add("x-init", "a").add("x-init", "b").add("x-init-bin", ALL_BYTES));
    ctx.setTrailers(new Metadata().add("x-trail", "1").add("x-trail", "2").add("x-trail-bin", new Uint8Array([9, 8, 7, 6])));
  });
  const { client } = echoClient(t, port);
  const call = client.unary({ message: "hi" });
  const headers = await call.headers;
  assert.deepEqual(headers.getAll("x-init"), ["a", "b"]);
  assert.deepEqual([...(headers.get("x-init-bin") as Uint8Array)], [...ALL_BYTES]);
  assert.equal((await call).message, "hi");
  const trailers = await call.trailers;
  assert.deepEqual(trailers.getAll("x-trail"), ["1", "2"]);
  assert.deepEqual([...(trailers.get("x-trail-bin") as Uint8Array)], [9, 8, 7, 6]);
  const status = await call.status;
  assert.equal(status.code, Code.OK);
  assert.equal(status.details, "");
  assert.deepEqual(status.metadata.getAll("x-trail"), ["1", "2"]);
  // Protocol headers are not metadata.
  for (const md of [headers, trailers]) {
    for (const key of md.keys()) {
      assert.ok(!key.startsWith(":") && !key.startsWith("grpc-") && key !== "content-type", `${key} exposed as metadata`);
    }
  }
});

test("call.headers resolves as soon as the server sends them, before any message or the end", T, async (t) => {
  const release = deferred();
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *serverStream(_r, ctx) {
        ctx.sendHeaders({ "x-early": "yes" });
        await release.promise;
        yield { message: "late" };
      },
    }),
  );
  const { client } = echoClient(t, port);
  const call = client.serverStream({});
  const headers = await within(call.headers, 3000, "initial metadata");
  assert.equal(headers.get("x-early"), "yes");
  release.resolve();
  assert.deepEqual((await collect(call)).map((r) => r.message), ["late"]);
});

test("streaming calls expose headers, trailers and status too", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      async *bidi(requests, ctx) {
        ctx.sendHeaders({ "x-bidi": "head" });
        ctx.setTrailers({ "x-bidi-end": "tail" });
        for await (const r of requests) yield { message: r.message };
      },
    }),
  );
  const { client } = echoClient(t, port);
  const call = client.bidi([{ message: "1" }, { message: "2" }]);
  assert.deepEqual((await collect(call)).map((r) => r.message), ["1", "2"]);
  assert.equal((await call.headers).get("x-bidi"), "head");
  assert.equal((await call.trailers).get("x-bidi-end"), "tail");
  assert.equal((await call.status).code, Code.OK);
});

test("a Trailers-Only error: headers resolve empty, trailers and status carry everything", T, async (t) => {
  const { port } = await recordingServer(t, () => {
    throw new RpcError(Code.NOT_FOUND, "gone", new Metadata({ "x-why": "deleted" }));
  });
  const { client } = echoClient(t, port);
  const call = client.unary({});
  await rejectsWith(call, Code.NOT_FOUND);
  assert.equal((await call.headers).size, 0);
  assert.equal((await call.trailers).get("x-why"), "deleted");
  const status = await call.status;
  assert.equal(status.code, Code.NOT_FOUND);
  assert.equal(status.details, "gone");
});

test("initial metadata set by an erroring handler arrives in call.headers", T, async (t) => {
  const { port } = await recordingServer(t, (ctx) => {
    ctx.sendHeaders({ "x-before-error": "1" });
    throw new RpcError(Code.ABORTED, "later");
  });
  const { client } = echoClient(t, port);
  const call = client.unary({});
  await rejectsWith(call, Code.ABORTED);
  assert.equal((await call.headers).get("x-before-error"), "1");
});

test("the request head: method, path, authority, te, content-type, user-agent, grpc-accept-encoding, grpc-timeout", T, async (t) => {
  const heads: http2.IncomingHttpHeaders[] = [];
  const port = await rawServer(t, (stream, headers) => {
    heads.push(headers);
    stream.on("data", () => undefined);
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame(new Uint8Array()));
    });
  });
  const channel = channelFor(t, port, { userAgent: "my-app/2.0" });
  const call = unaryUnary(channel, "/pkg.Svc/CamelCase");
  await call(new Uint8Array(), { timeoutMs: 5000 });
  await call(new Uint8Array());
  const [head, noTimeout] = heads;
  assert.ok(head && noTimeout);
  assert.equal(head[":method"], "POST");
  assert.equal(head[":scheme"], "http");
  assert.equal(head[":path"], "/pkg.Svc/CamelCase");
  assert.equal(head[":authority"], `127.0.0.1:${port}`);
  assert.equal(head["te"], "trailers");
  assert.equal(head["content-type"], "application/grpc");
  assert.match(String(head["user-agent"]), /^my-app\/2\.0 grpc-[a-z-]+\/\d/);
  const accepted = String(head["grpc-accept-encoding"]).split(",").map((s) => s.trim());
  assert.ok(accepted.includes("gzip") && accepted.includes("identity"), String(head["grpc-accept-encoding"]));
  assert.match(String(head["grpc-timeout"]), /^\d{1,8}[HMSmun]$/);
  assert.equal(head["grpc-encoding"], undefined, "no grpc-encoding for identity");
  assert.equal(noTimeout["grpc-timeout"], undefined);
});

test("the channel's authority option sets :authority", T, async (t) => {
  const authorities: string[] = [];
  const port = await rawServer(t, (stream, headers) => {
    authorities.push(String(headers[":authority"]));
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
  });
  await rejectsWith(unaryUnary(channelFor(t, port, { authority: "api.example.com" }), "/a.B/C")(new Uint8Array()), Code.UNIMPLEMENTED);
  assert.deepEqual(authorities, ["api.example.com"]);
});

test("binary response metadata in padded, unpadded and comma-joined base64 is decoded", T, async (t) => {
  const port = await rawServer(t, (stream) => {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "x-padded-bin": "AQIDBA==", "x-unpadded-bin": "AQIDBA", "x-joined-bin": "AQ==,AgM" },
      { waitForTrailers: true },
    );
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-t-bin": "/w" }));
    stream.on("data", () => undefined);
    stream.on("end", () => stream.end(grpcFrame(new Uint8Array())));
  });
  const call = unaryUnary(channelFor(t, port), "/a.B/C")(new Uint8Array());
  await call;
  const headers = await call.headers;
  assert.deepEqual([...(headers.get("x-padded-bin") as Uint8Array)], [1, 2, 3, 4]);
  assert.deepEqual([...(headers.get("x-unpadded-bin") as Uint8Array)], [1, 2, 3, 4]);
  assert.deepEqual(headers.getAll("x-joined-bin").map((v) => [...(v as Uint8Array)]), [[1], [2, 3]]);
  assert.deepEqual([...((await call.trailers).get("x-t-bin") as Uint8Array)], [0xff]);
});

test("request metadata over the server's header-list limit: RESOURCE_EXHAUSTED for that call only", T, async (t) => {
  const { port, seen } = await recordingServer(t);
  const proxy = await countingProxy(t, port);
  const { client } = echoClient(t, proxy.port);
  await client.unary({ message: "connect" });
  const sentBefore = proxy.up();
  const huge = { "x-huge": "a".repeat(64 * 1024) };
  await within(rejectsWith(client.unary({}, { metadata: huge }), Code.RESOURCE_EXHAUSTED), 5000, "the oversized call to end");
  assert.ok(proxy.up() - sentBefore < 1024, "the oversized head was not sent");
  // The connection is unharmed: the next calls go through on it.
  assert.equal((await client.unary({ message: "after" })).message, "after");
  assert.equal((await client.unary({ message: "again" }, { metadata: { "x-small": "a".repeat(1024) } })).message, "again");
  assert.equal(proxy.connections(), 1);
  assert.equal(seen.length, 3);
});

test("response metadata over the client's header-list limit fails the call, not the channel", T, async (t) => {
  const { port } = await recordingServer(t, (ctx) => {
    if (ctx.metadata.get("x-big-reply")) ctx.sendHeaders({ "x-huge": "b".repeat(64 * 1024) });
  });
  const { client } = echoClient(t, port);
  const error = await within(
    client.unary({}, { metadata: { "x-big-reply": "1" } }).then(
      () => undefined,
      (err: unknown) => err,
    ),
    5000,
    "the call with oversized response metadata to end",
  );
  assert.ok(error instanceof RpcError, `expected an RpcError, got ${String(error)}`);
  assert.notEqual(error.code, Code.OK);
  assert.equal((await client.unary({ message: "fine" })).message, "fine");
});
