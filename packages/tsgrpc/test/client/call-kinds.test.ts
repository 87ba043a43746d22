import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  bidiStreamingMethodHandler,
  clientStreamingMethodHandler,
  Code,
  createClient,
  createPushable,
  serverStreamingMethodHandler,
  streamStream,
  streamUnary,
  unaryMethodHandler,
  unaryStream,
  unaryUnary,
  type ServiceDefinition,
} from "tsgrpc";
import { Echo, EchoRequestSchema, type EchoRequest } from "../gen/echo_pb.js";
import { channelFor, collect, echoClient, grpcFrame, rawServer, rejectsWith, serve, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { BIDI, CLIENT_STREAM, decodeResponse, deferred, echoImpl, encodeRequest, SERVER_STREAM, sleep, UNARY } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

test("typed client: unary with a plain init object and with a created message", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);

  const plain = await client.unary({ message: "hello", payload: new Uint8Array([1, 2, 3]) });
  assert.equal(plain.message, "hello");
  assert.deepEqual([...plain.payload], [1, 2, 3]);
  assert.equal(plain.$typeName, "tsgrpc.test.EchoResponse");

  const made = await client.unary(create(EchoRequestSchema, { message: "made" }));
  assert.equal(made.message, "made");
});

test("typed client: server streaming yields every response in order", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  const responses = await collect(client.serverStream({ message: "s", count: 50 }));
  assert.deepEqual(responses.map((r) => r.index), Array.from({ length: 50 }, (_, i) => i));
  assert.ok(responses.every((r) => r.message === "s"));
});

test("typed client: server streaming with zero responses ends cleanly", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  const call = client.serverStream({ message: "none", count: 0 });
  assert.deepEqual(await collect(call), []);
  assert.equal((await call.status).code, Code.OK);
});

test("typed client: client streaming from an array, a generator and a pushable", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);

  const fromArray = await client.clientStream([{ message: "a" }, { message: "b" }, { message: "c" }]);
  assert.equal(fromArray.message, "a,b,c");
  assert.equal(fromArray.index, 3);

  async function* requests() {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      yield { message: `g${i}` };
    }
  }
  const fromGenerator = await client.clientStream(requests());
  assert.equal(fromGenerator.message, "g0,g1,g2,g3,g4");

  const pushable = createPushable<{ message: string }>();
  const call = client.clientStream(pushable);
  pushable.push({ message: "x" });
  setTimeout(() => {
    pushable.push({ message: "y" });
    pushable.end();
  }, 20);
  const fromPushable = await call;
  assert.equal(fromPushable.message, "x,y");

  const empty = await client.clientStream([]);
  assert.equal(empty.message, "");
  assert.equal(empty.index, 0);
});

test("typed client: bidi answers each request while the request stream is still open", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  const requests = createPushable<{ message: string }>();
  const call = client.bidi(requests);
  const iterator = call[Symbol.asyncIterator]();
  // Ping-pong: each answer arrives before the next request exists, so the stream really is interleaved.
  for (let i = 0; i < 5; i++) {
    requests.push({ message: `m${i}` });
    const { value, done } = await iterator.next();
    assert.equal(done, false);
    assert.equal(value!.message, `m${i}`);
    assert.equal(value!.index, i);
  }
  requests.end();
  assert.equal((await iterator.next()).done, true);
  assert.equal((await call.status).code, Code.OK);
});

test("low-level callables: raw bytes by default", T, async (t) => {
  const { port } = await serve(t);
  const channel = channelFor(t, port);

  const unary = unaryUnary(channel, UNARY);
  const bytes = await unary(encodeRequest({ message: "raw" }));
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(decodeResponse(bytes).message, "raw");

  const stream = unaryStream(channel, SERVER_STREAM);
  const items = await collect(stream(encodeRequest({ message: "r", count: 3 })));
  assert.deepEqual(items.map((b) => decodeResponse(b).index), [0, 1, 2]);

  const clientStream = streamUnary(channel, CLIENT_STREAM);
  const joined = await clientStream([encodeRequest({ message: "p" }), encodeRequest({ message: "q" })]);
  assert.equal(decodeResponse(joined).message, "p,q");

  const bidi = streamStream(channel, BIDI);
  const answers = await collect(bidi([encodeRequest({ message: "1" }), encodeRequest({ message: "2" })]));
  assert.deepEqual(answers.map((b) => decodeResponse(b).message), ["1", "2"]);
});

test("low-level callables with custom serializers (JSON codec end to end)", T, async (t) => {
  interface Req {
    words: string[];
  }
  interface Res {
    upper: string;
    n: number;
  }
  const toJson = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
  const fromJson = <V>(b: Uint8Array): V => JSON.parse(Buffer.from(b).toString("utf8")) as V;
  const base = "/json.Words";
  const { port } = await serve(t, (s) =>
    s
      .addMethod(`${base}/Upper`, unaryMethodHandler<Req, Res>((r) => ({ upper: r.words.join(" ").toUpperCase(), n: r.words.length }), fromJson, toJson))
      .addMethod(
        `${base}/Split`,
        serverStreamingMethodHandler<Req, Res>(function* (r) {
          for (const [n, w] of r.words.entries()) yield { upper: w.toUpperCase(), n };
        }, fromJson, toJson),
      )
      .addMethod(
        `${base}/Count`,
        clientStreamingMethodHandler<Req, Res>(async (requests) => {
          let n = 0;
          for await (const r of requests) n += r.words.length;
          return { upper: "", n };
        }, fromJson, toJson),
      )
      .addMethod(
        `${base}/Each`,
        bidiStreamingMethodHandler<Req, Res>(async function* (requests) {
          for await (const r of requests) yield { upper: r.words[0]!.toUpperCase(), n: r.words.length };
        }, fromJson, toJson),
      ),
  );
  const channel = channelFor(t, port);
  const upper = unaryUnary<Req, Res>(channel, `${base}/Upper`, toJson, fromJson);
  assert.deepEqual(await upper({ words: ["a", "b"] }), { upper: "A B", n: 2 });

  const split = unaryStream<Req, Res>(channel, `${base}/Split`, toJson, fromJson);
  assert.deepEqual(await collect(split({ words: ["x", "y"] })), [{ upper: "X", n: 0 }, { upper: "Y", n: 1 }]);

  const count = streamUnary<Req, Res>(channel, `${base}/Count`, toJson, fromJson);
  assert.deepEqual(await count([{ words: ["a"] }, { words: ["b", "c"] }]), { upper: "", n: 3 });

  const each = streamStream<Req, Res>(channel, `${base}/Each`, toJson, fromJson);
  assert.deepEqual(await collect(each([{ words: ["q", "r"] }])), [{ upper: "Q", n: 2 }]);
});

test("createClient on a codec-agnostic ServiceDefinition", T, async (t) => {
  const toText = (s: string): Uint8Array => Buffer.from(s);
  const fromText = (b: Uint8Array): string => Buffer.from(b).toString();
  const definition: ServiceDefinition = {
    typeName: "text.Shout",
    methods: {
      shout: {
        path: "/text.Shout/Shout",
        kind: "unary",
        serializeRequest: toText,
        deserializeRequest: fromText,
        serializeResponse: toText,
        deserializeResponse: fromText,
      },
    },
  };
  const { port } = await serve(t, (s) => s.addService(definition, { shout: (r: string) => `${r.toUpperCase()}!` }));
  const client = createClient(definition, channelFor(t, port)) as { shout: (r: string) => Promise<string> };
  assert.equal(await client.shout("hey"), "HEY!");
});

test("createClient defaults apply to every call and a call's own options win", T, async (t) => {
  const seen: string[] = [];
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r, ctx) => {
        seen.push(ctx.metadata.getString("who") ?? "-");
        return { message: r.message };
      },
    }),
  );
  const channel = channelFor(t, port);
  const client = createClient(Echo, channel, { metadata: { who: "default" } });
  await client.unary({ message: "1" });
  await client.unary({ message: "2" }, { metadata: { who: "override" } });
  assert.deepEqual(seen, ["default", "override"]);
});

test("unary response cardinality: OK without a response message is UNIMPLEMENTED on the client", T, async (t) => {
  const path = "/raw.Card/None";
  const { port } = await serve(t, (s) =>
    s.addMethod(path, serverStreamingMethodHandler<Uint8Array, Uint8Array>(function* () {}, (b) => b, (b) => b)),
  );
  const channel = channelFor(t, port);
  await rejectsWith(unaryUnary(channel, path)(new Uint8Array()), Code.UNIMPLEMENTED);
});

test("unary response cardinality: two response messages are UNIMPLEMENTED on the client", T, async (t) => {
  const path = "/raw.Card/Two";
  const { port } = await serve(t, (s) =>
    s.addMethod(path, serverStreamingMethodHandler<Uint8Array, Uint8Array>(function* () {
      yield new Uint8Array([1]);
      yield new Uint8Array([2]);
    }, (b) => b, (b) => b)),
  );
  const channel = channelFor(t, port);
  await rejectsWith(unaryUnary(channel, path)(new Uint8Array()), Code.UNIMPLEMENTED);
  await rejectsWith(streamUnary(channel, path)([new Uint8Array()]), Code.UNIMPLEMENTED);
});

test("unknown method → UNIMPLEMENTED; a response that cannot be parsed → INTERNAL", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s
      .addService(Echo, echoImpl)
      .addMethod("/raw.Bad/Garbage", unaryMethodHandler<Uint8Array, Uint8Array>(() => new Uint8Array([0xff, 0xff, 0xff]), (b) => b, (b) => b)),
  );
  const channel = channelFor(t, port);
  await rejectsWith(unaryUnary(channel, "/tsgrpc.test.Echo/Nope")(new Uint8Array()), Code.UNIMPLEMENTED);
  await rejectsWith(unaryUnary(channel, "/nope.Service/Unary")(new Uint8Array()), Code.UNIMPLEMENTED);
  const garbage = unaryUnary(channel, "/raw.Bad/Garbage", (b: Uint8Array) => b, decodeResponse);
  await rejectsWith(garbage(new Uint8Array()), Code.INTERNAL);
});

test("a request serializer that throws fails the call with INTERNAL and sends nothing", T, async (t) => {
  let handled = 0;
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r) => {
        handled++;
        return { message: r.message };
      },
    }),
  );
  const channel = channelFor(t, port);
  const unary = unaryUnary<EchoRequest | null, Uint8Array>(channel, UNARY, (r) => {
    if (r === null) throw new Error("cannot serialize null");
    return encodeRequest(r);
  });
  await rejectsWith(unary(null), Code.INTERNAL, /cannot serialize null/);
  const ok = await unary(create(EchoRequestSchema, { message: "fine" }));
  assert.equal(decodeResponse(ok).message, "fine");
  assert.equal(handled, 1);
});

test("a failing request stream cancels the call: CANCELLED with the cause, RST_STREAM(CANCEL) on the wire", T, async (t) => {
  const reset = deferred<number>();
  const port = await rawServer(t, (stream) => {
    stream.on("data", () => undefined);
    stream.on("close", () => reset.resolve(stream.rstCode ?? -1));
  });
  const clientStream = streamUnary(channelFor(t, port), "/raw.Broken/Requests");
  async function* broken() {
    yield new Uint8Array([1]);
    await new Promise((r) => setTimeout(r, 50));
    throw new Error("source broke");
  }
  const error = await rejectsWith(clientStream(broken()), Code.CANCELLED);
  assert.match(error.details, /source broke/);
  assert.equal(await within(reset.promise, 2000, "RST_STREAM"), http2.constants.NGHTTP2_CANCEL);
});

test("many concurrent calls of every kind on one channel", T, async (t) => {
  const { port } = await serve(t);
  const { client } = echoClient(t, port);
  const results = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      switch (i % 4) {
        case 0:
          return (await client.unary({ message: `${i}` })).message;
        case 1:
          return (await collect(client.serverStream({ message: `${i}`, count: 3 }))).map((r) => r.message).join("");
        case 2:
          return (await client.clientStream([{ message: `${i}` }])).message;
        default:
          return (await collect(client.bidi([{ message: `${i}` }])))[0]!.message;
      }
    }),
  );
  results.forEach((r, i) => assert.equal(r, i % 4 === 1 ? `${i}${i}${i}` : `${i}`));
});

test("the server answers before the client half-closes: OK, and the client stops sending", T, async (t) => {
  // A well-behaved server: response, trailers, and only then RST_STREAM(NO_ERROR).
  const port = await rawServer(t, (stream) => {
    stream.once("data", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => {
        stream.sendTrailers({ "grpc-status": "0" });
        setImmediate(() => stream.close(http2.constants.NGHTTP2_NO_ERROR));
      });
      stream.end(grpcFrame(Buffer.from("early")));
    });
  });
  let pulled = 0;
  const closed = deferred();
  async function* requests() {
    try {
      for (;;) {
        pulled++;
        yield new Uint8Array([1]);
        await sleep(10);
      }
    } finally {
      closed.resolve();
    }
  }
  const response = await streamUnary(channelFor(t, port), "/raw.Early/Answer")(requests());
  assert.equal(Buffer.from(response).toString(), "early");
  await within(closed.promise, 2000, "the request generator to be closed");
  const after = pulled;
  await sleep(50);
  assert.equal(pulled, after, "requests were still pulled after the call ended");
});

test(
  "tsgrpc's server answering before the client half-closes: the client gets the status",
  T,
  async (t) => {
    const { port } = await serve(t, (s) => s.addService(Echo, { ...echoImpl, clientStream: () => ({ message: "early" }) }));
    const { client } = echoClient(t, port);
    const requests = createPushable<{ message: string }>();
    requests.push({ message: "one" });
    assert.equal((await client.clientStream(requests)).message, "early");
  },
);
