import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  bidiStreamingMethodHandler,
  clientStreamingMethodHandler,
  createServer,
  serverStreamingMethodHandler,
  unaryMethodHandler,
} from "../../src/index.js";
import { Echo, EchoResponseSchema, type EchoRequest } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { RawHttp2Client, rawValues, type RawResponse } from "../helpers/raw-http2-client.js";
import {
  BIDI,
  CLIENT_STREAM,
  decodeRequest,
  decodeResponse,
  echoImpl,
  encodeRequest,
  SERVER_STREAM,
  startTestServer,
  UNARY,
} from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/** A well-formed OK response: head, messages, trailers with grpc-status 0 and nothing else going wrong. */
function assertOk(response: RawResponse): void {
  assert.equal(response.httpStatus, 200);
  assert.equal(response.trailersOnly, false, "an OK response with messages is not Trailers-Only");
  assert.match(String(response.headers?.["content-type"]), /^application\/grpc/);
  assert.equal(response.grpcStatus, 0, `grpc-status (message: ${response.grpcMessage})`);
  assert.equal(response.trailers?.["grpc-status"], "0");
  assert.equal(response.leftover.length, 0, "the body ended on a message boundary");
  assert.equal(response.error, undefined);
}

function responses(response: RawResponse): Array<{ message: string; index: number }> {
  return response.messages.map((m) => {
    assert.equal(m.flag, 0, "uncompressed response");
    const r = decodeResponse(m.payload);
    return { message: r.message, index: r.index };
  });
}

test("typed service: all four call kinds over one connection", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });

  const unary = await client.call(UNARY, { messages: [encodeRequest({ message: "hi", payload: new Uint8Array([1, 2, 3]) })] });
  assertOk(unary);
  assert.equal(unary.messages.length, 1);
  const echoed = decodeResponse(unary.messages[0]!.payload);
  assert.equal(echoed.message, "hi");
  assert.deepEqual([...echoed.payload], [1, 2, 3]);

  const serverStream = await client.call(SERVER_STREAM, { messages: [encodeRequest({ message: "s", count: 5 })] });
  assertOk(serverStream);
  assert.deepEqual(responses(serverStream), [0, 1, 2, 3, 4].map((index) => ({ message: "s", index })));

  const clientStream = await client.call(CLIENT_STREAM, {
    messages: ["a", "b", "c"].map((message) => encodeRequest({ message })),
  });
  assertOk(clientStream);
  assert.deepEqual(responses(clientStream), [{ message: "a,b,c", index: 3 }]);

  const bidi = await client.call(BIDI, { messages: ["x", "y"].map((message) => encodeRequest({ message })) });
  assertOk(bidi);
  assert.deepEqual(responses(bidi), [{ message: "x", index: 0 }, { message: "y", index: 1 }]);
});

test("client streaming with zero messages and server streaming with zero responses are OK", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const clientStream = await client.call(CLIENT_STREAM);
  assertOk(clientStream);
  assert.deepEqual(responses(clientStream), [{ message: "", index: 0 }]);

  const serverStream = await client.call(SERVER_STREAM, { messages: [encodeRequest({ count: 0 })] });
  assert.equal(serverStream.grpcStatus, 0);
  assert.equal(serverStream.messages.length, 0);
  // Nothing was sent before the status, so it may go out as Trailers-Only.
  assert.equal(serverStream.trailersOnly, true);
});

test("bidi answers each request before the client half-closes", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const call = client.start(BIDI);
  for (let i = 0; i < 3; i++) {
    call.send(encodeRequest({ message: `m${i}` }));
    await call.waitForMessages(i + 1);
    assert.equal(decodeResponse(call.messages[i]!.payload).message, `m${i}`);
  }
  call.end();
  const response = await call.response;
  assertOk(response);
  assert.equal(response.messages.length, 3);
});

test("server-streaming handler may return an array instead of a generator", T, async (t) => {
  const { port, close } = await startTestServer((s) =>
    s.addService(Echo, {
      serverStream: (request) => Array.from({ length: request.count }, (_, index) => ({ message: "arr", index })),
      bidi: async (requests) => {
        const all: Array<{ message: string }> = [];
        for await (const r of requests) all.push({ message: r.message.toUpperCase() });
        return all;
      },
    }),
  );
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const response = await client.call(SERVER_STREAM, { messages: [encodeRequest({ count: 3 })] });
  assertOk(response);
  assert.deepEqual(responses(response), [0, 1, 2].map((index) => ({ message: "arr", index })));

  const bidi = await client.call(BIDI, { messages: [encodeRequest({ message: "a" }), encodeRequest({ message: "b" })] });
  assertOk(bidi);
  assert.deepEqual(responses(bidi).map((r) => r.message), ["A", "B"]);
});

test("a method left out of the implementation answers UNIMPLEMENTED", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, { unary: () => ({}) }));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const response = await client.call(SERVER_STREAM, { messages: [encodeRequest()] });
  assert.equal(response.grpcStatus, 12);
  assert.equal(response.trailersOnly, true);
});

test("responses may be full messages as well as init objects", T, async (t) => {
  const { port, close } = await startTestServer((s) =>
    s.addService(Echo, { unary: (request) => create(EchoResponseSchema, { message: `msg:${request.message}`, index: 7 }) }),
  );
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const response = await client.call(UNARY, { messages: [encodeRequest({ message: "q" })] });
  assertOk(response);
  assert.deepEqual(responses(response), [{ message: "msg:q", index: 7 }]);
});

test("low-level addMethod: all four kinds with hand-written serializers", T, async (t) => {
  const serialize = (r: { message: string; index?: number }): Uint8Array => toBinary(EchoResponseSchema, create(EchoResponseSchema, r));
  const deserialize = (bytes: Uint8Array): EchoRequest => decodeRequest(bytes);
  const { port, close } = await startTestServer((s) => {
    s.addMethod("/low.Level/Unary", unaryMethodHandler((req: EchoRequest) => ({ message: `u:${req.message}` }), deserialize, serialize));
    s.addMethod(
      "/low.Level/ServerStream",
      serverStreamingMethodHandler(
        async function* (req: EchoRequest) {
          for (let index = 0; index < req.count; index++) yield { message: "ss", index };
        },
        deserialize,
        serialize,
      ),
    );
    s.addMethod(
      "/low.Level/ClientStream",
      clientStreamingMethodHandler(
        async (reqs: AsyncIterable<EchoRequest>) => {
          let n = 0;
          for await (const _ of reqs) n++;
          return { message: "cs", index: n };
        },
        deserialize,
        serialize,
      ),
    );
    s.addMethod(
      "/low.Level/Bidi",
      bidiStreamingMethodHandler(
        async function* (reqs: AsyncIterable<EchoRequest>) {
          for await (const r of reqs) yield { message: `b:${r.message}` };
        },
        deserialize,
        serialize,
      ),
    );
    // A raw-bytes method: the codec is whatever the user says.
    s.addMethod(
      "/low.Level/Bytes",
      unaryMethodHandler((req: Uint8Array) => Uint8Array.from(req).reverse(), (b) => b, (b: Uint8Array) => b),
    );
  });
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });

  const unary = await client.call("/low.Level/Unary", { messages: [encodeRequest({ message: "1" })] });
  assertOk(unary);
  assert.deepEqual(responses(unary), [{ message: "u:1", index: 0 }]);

  const ss = await client.call("/low.Level/ServerStream", { messages: [encodeRequest({ count: 2 })] });
  assertOk(ss);
  assert.deepEqual(responses(ss), [{ message: "ss", index: 0 }, { message: "ss", index: 1 }]);

  const cs = await client.call("/low.Level/ClientStream", { messages: [encodeRequest(), encodeRequest(), encodeRequest()] });
  assertOk(cs);
  assert.deepEqual(responses(cs), [{ message: "cs", index: 3 }]);

  const bidi = await client.call("/low.Level/Bidi", { messages: [encodeRequest({ message: "z" })] });
  assertOk(bidi);
  assert.deepEqual(responses(bidi), [{ message: "b:z", index: 0 }]);

  const bytes = await client.call("/low.Level/Bytes", { messages: [new Uint8Array([1, 2, 3])] });
  assertOk(bytes);
  assert.deepEqual([...bytes.messages[0]!.payload], [3, 2, 1]);
});

test("response head carries content-type and grpc-accept-encoding; trailers carry grpc-status 0 only", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const response = await client.call(UNARY, { messages: [encodeRequest()] });
  assertOk(response);
  assert.equal(response.headers?.["content-type"], "application/grpc");
  const accepted = String(response.headers?.["grpc-accept-encoding"]).split(",").map((s) => s.trim());
  assert.ok(accepted.includes("gzip") && accepted.includes("deflate") && accepted.includes("identity"), accepted.join());
  assert.equal(response.headers?.["grpc-encoding"], undefined, "identity responses carry no grpc-encoding");
  assert.deepEqual(rawValues(response.rawTrailers, "grpc-status"), ["0"]);
  assert.equal(response.trailers?.["grpc-message"], undefined, "no grpc-message for OK without details");
});

test("a message split over many DATA writes and many messages in one write are both reassembled", T, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const one = Buffer.from(encodeRequest({ message: "split", payload: new Uint8Array(1000).fill(9) }));
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), one]);
  framed.writeUInt32BE(one.length, 1);
  const call = client.start(CLIENT_STREAM);
  for (let i = 0; i < framed.length; i += 7) {
    call.write(framed.subarray(i, i + 7));
    if (i % 70 === 0) await new Promise((r) => setImmediate(r));
  }
  // Three messages in one write.
  call.write(Buffer.concat([framed, framed, framed]));
  call.end();
  const response = await call.response;
  assertOk(response);
  assert.deepEqual(responses(response), [{ message: "split,split,split,split", index: 4 }]);
});

test("many concurrent calls of every kind on one connection", { timeout: 20_000 }, async (t) => {
  const { port, close } = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const calls = Array.from({ length: 50 }, (_, i) => [
    client.call(UNARY, { messages: [encodeRequest({ message: `u${i}` })] }).then((r) => {
      assertOk(r);
      assert.equal(responses(r)[0]!.message, `u${i}`);
    }),
    client.call(SERVER_STREAM, { messages: [encodeRequest({ message: `s${i}`, count: 10 })] }).then((r) => {
      assertOk(r);
      assert.equal(r.messages.length, 10);
    }),
    client.call(CLIENT_STREAM, { messages: [encodeRequest({ message: `c${i}` }), encodeRequest({ message: "x" })] }).then((r) => {
      assertOk(r);
      assert.equal(responses(r)[0]!.message, `c${i},x`);
    }),
    client.call(BIDI, { messages: [encodeRequest({ message: `b${i}` })] }).then((r) => {
      assertOk(r);
      assert.equal(responses(r)[0]!.message, `b${i}`);
    }),
  ]).flat();
  await Promise.all(calls);
});

test("a client-streaming handler may answer before the client finishes sending; the connection stays usable", T, async (t) => {
  const { port, close } = await startTestServer((s) =>
    s.addService(Echo, {
      ...echoImpl,
      async clientStream(requests) {
        for await (const request of requests) return { message: `first:${request.message}` };
        return {};
      },
    }),
  );
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const call = client.start(CLIENT_STREAM);
  call.send(encodeRequest({ message: "one" }));
  const response = await call.response; // never half-closed by us
  assertOk(response);
  assert.deepEqual(responses(response), [{ message: "first:one", index: 0 }]);
  // The server told us to stop sending with RST_STREAM(NO_ERROR) after its trailers.
  assert.equal(response.rstCode, 0);
  const next = await client.call(UNARY, { messages: [encodeRequest({ message: "next" })] });
  assertOk(next);
});

test("generic handlers serve paths not registered exactly; exact registrations win", T, async (t) => {
  const asked: string[] = [];
  const { port, close } = await startTestServer((s) => {
    s.addService(Echo, echoImpl);
    s.addGenericHandler((path) => {
      asked.push(path);
      if (!path.startsWith("/dyn.")) return undefined;
      return unaryMethodHandler((req: Uint8Array) => Buffer.concat([Buffer.from(path), req]), (b) => b, (b: Uint8Array) => b);
    });
  });
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const dynamic = await client.call("/dyn.Any/Thing", { messages: [Buffer.from("!")] });
  assertOk(dynamic);
  assert.equal(dynamic.messages[0]!.payload.toString(), "/dyn.Any/Thing!");
  assertOk(await client.call(UNARY, { messages: [encodeRequest()] }));
  assert.deepEqual(asked, ["/dyn.Any/Thing"], "exact paths never reach the generic handler");
  const missing = await client.call("/other.Svc/M", { messages: [Buffer.from("!")] });
  assert.equal(missing.grpcStatus, 12);
});

test("registering a path twice or a malformed path throws at registration", () => {
  assert.throws(() => createServer().addService(Echo, echoImpl).addService(Echo, echoImpl), /already registered/);
  const handler = unaryMethodHandler(() => new Uint8Array(), (b) => b, (b: Uint8Array) => b);
  assert.throws(() => createServer().addMethod("noslash", handler), /must look like/);
  assert.throws(() => createServer().addService(Echo, { nope: () => ({}) } as never), /no method "nope"/);
});
