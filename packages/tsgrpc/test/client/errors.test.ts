import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test } from "node:test";
import { Code, codeName, createPushable, Metadata, RpcError, streamStream, unaryUnary } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, collect, echoClient, grpcFrame, rawServer, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl, encodeRequest } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INADEQUATE_SECURITY, NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR } =
  http2.constants;

const NON_OK_CODES = Object.values(Code).filter((c): c is Code => typeof c === "number" && c !== Code.OK);

test("a thrown RpcError reaches the client with its code, details and trailing metadata", T, async (t) => {
  const trailers = new Metadata().add("x-reason", "quota").add("x-reason", "again").add("x-blob-bin", new Uint8Array([0, 1, 255]));
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: () => {
        throw new RpcError(Code.RESOURCE_EXHAUSTED, "too many widgets", trailers);
      },
    }),
  );
  const { client } = echoClient(t, port);
  const call = client.unary({ message: "x" });
  const error = await rejectsWith(call, Code.RESOURCE_EXHAUSTED);
  assert.equal(error.details, "too many widgets");
  assert.equal(error.message, "RESOURCE_EXHAUSTED: too many widgets");
  assert.deepEqual(error.metadata.getAll("x-reason"), ["quota", "again"]);
  assert.deepEqual([...(error.metadata.get("x-blob-bin") as Uint8Array)], [0, 1, 255]);
  // The call's info agrees, and never rejects.
  const status = await call.status;
  assert.equal(status.code, Code.RESOURCE_EXHAUSTED);
  assert.equal(status.details, "too many widgets");
  assert.deepEqual((await call.trailers).getAll("x-reason"), ["quota", "again"]);
  // Library-owned headers do not leak into the error's metadata.
  for (const key of error.metadata.keys()) assert.ok(!key.startsWith("grpc-") && !key.startsWith(":"), key);
});

test("a thrown plain Error is UNKNOWN on the client, for every call kind", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      unary: () => {
        throw new Error("boom");
      },
      async *serverStream() {
        yield { message: "first" };
        throw new TypeError("late boom");
      },
      async clientStream() {
        throw new Error("cs boom");
      },
      async *bidi(requests) {
        for await (const r of requests) {
          yield { message: r.message };
          throw new Error("bidi boom");
        }
      },
    }),
  );
  const { client } = echoClient(t, port);
  await rejectsWith(client.unary({}), Code.UNKNOWN);
  await rejectsWith(client.clientStream([{}, {}]), Code.UNKNOWN);

  const seen: string[] = [];
  await rejectsWith(
    (async () => {
      for await (const r of client.serverStream({ count: 1 })) seen.push(r.message);
    })(),
    Code.UNKNOWN,
  );
  assert.deepEqual(seen, ["first"], "messages before the error are delivered");

  const bidiSeen: string[] = [];
  await rejectsWith(
    (async () => {
      for await (const r of client.bidi([{ message: "b1" }, { message: "b2" }])) bidiSeen.push(r.message);
    })(),
    Code.UNKNOWN,
  );
  assert.deepEqual(bidiSeen, ["b1"]);
});

test("all 16 non-OK codes round trip from handler to client, unary and after streamed messages", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r) => {
        throw new RpcError(r.count as Code, `unary code ${r.count}`);
      },
      async *serverStream(r) {
        if (r.count === Code.OK) return;
        yield { index: 0 };
        yield { index: 1 };
        throw new RpcError(r.count as Code, `stream code ${r.count}`, new Metadata({ "x-code": String(r.count) }));
      },
    }),
  );
  const { client } = echoClient(t, port);
  assert.equal(NON_OK_CODES.length, 16);
  for (const code of NON_OK_CODES) {
    const unary = await rejectsWith(client.unary({ count: code }), code);
    assert.equal(unary.details, `unary code ${code}`);

    const call = client.serverStream({ count: code });
    const indexes: number[] = [];
    const streamed = await rejectsWith(
      (async () => {
        for await (const r of call) indexes.push(r.index);
      })(),
      code,
    );
    assert.deepEqual(indexes, [0, 1], codeName(code));
    assert.equal(streamed.details, `stream code ${code}`);
    assert.equal(streamed.metadata.get("x-code"), String(code));
    assert.equal((await call.status).code, code);
  }
  // And OK is a success with status OK.
  const ok = client.serverStream({ count: 0 });
  assert.deepEqual(await collect(ok), []);
  assert.deepEqual(await ok.status, { code: Code.OK, details: "", metadata: await ok.trailers });
});

test("unicode, percent signs and control characters in details survive the trip", T, async (t) => {
  const texts = ["héllo wörld", "日本語のエラー", "rocket 🚀 and 100% sure", "tab\tnew\nline", "%41 is not A", "in between  spaces"];
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r) => {
        throw new RpcError(Code.INVALID_ARGUMENT, r.message);
      },
    }),
  );
  const { client } = echoClient(t, port);
  for (const text of texts) {
    const error = await rejectsWith(client.unary({ message: text }), Code.INVALID_ARGUMENT);
    assert.equal(error.details, text);
  }
});

test(
  "details with leading or trailing spaces survive the trip",
  T,
  async (t) => {
    const { port } = await serve(t, (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: (r) => {
          throw new RpcError(Code.INVALID_ARGUMENT, r.message);
        },
      }),
    );
    const { client } = echoClient(t, port);
    const error = await rejectsWith(client.unary({ message: " spaced  " }), Code.INVALID_ARGUMENT);
    assert.equal(error.details, " spaced  ");
  },
);

test("ctx.abort and ctx.setStatus/setTrailers reach the client", T, async (t) => {
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: (r, ctx) => {
        ctx.setTrailers({ "x-set": "before" });
        if (r.message === "abort") ctx.abort(Code.PERMISSION_DENIED, "no entry", { "x-abort": "yes" });
        ctx.setStatus(Code.FAILED_PRECONDITION, "not yet");
        return { message: "ignored" };
      },
    }),
  );
  const { client } = echoClient(t, port);
  const aborted = await rejectsWith(client.unary({ message: "abort" }), Code.PERMISSION_DENIED);
  assert.equal(aborted.details, "no entry");
  assert.equal(aborted.metadata.get("x-abort"), "yes");
  assert.deepEqual(aborted.metadata.getAll("x-set"), ["before"]);

  const status = await rejectsWith(client.unary({ message: "status" }), Code.FAILED_PRECONDITION);
  assert.equal(status.details, "not yet");
  assert.equal(status.metadata.get("x-set"), "before");
});

test("grpc-status-details-bin is kept as trailing metadata", T, async (t) => {
  const details = new Uint8Array([8, 5, 18, 3, 98, 97, 100]); // google.rpc.Status{code: 5, message: "bad"}
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: () => {
        throw new RpcError(Code.NOT_FOUND, "bad", new Metadata({ "grpc-status-details-bin": details }));
      },
    }),
  );
  const { client } = echoClient(t, port);
  const error = await rejectsWith(client.unary({}), Code.NOT_FOUND);
  assert.deepEqual([...(error.metadata.get("grpc-status-details-bin") as Uint8Array)], [...details]);
});

// ---- responses only a misbehaving or non-gRPC server sends -----------------------------------------

test("RST_STREAM without a status maps to the spec's codes", T, async (t) => {
  const cases: Array<[number, Code]> = [
    [NGHTTP2_REFUSED_STREAM, Code.UNAVAILABLE],
    [NGHTTP2_CANCEL, Code.CANCELLED],
    [NGHTTP2_ENHANCE_YOUR_CALM, Code.RESOURCE_EXHAUSTED],
    [NGHTTP2_INADEQUATE_SECURITY, Code.PERMISSION_DENIED],
    [NGHTTP2_INTERNAL_ERROR, Code.INTERNAL],
    [NGHTTP2_PROTOCOL_ERROR, Code.INTERNAL],
  ];
  const port = await rawServer(t, (stream, headers) => {
    const code = Number(headers["x-rst"]);
    if (headers["x-after-headers"] === "1") {
      // A message, then the reset, while the client's request stream is still open (node would turn a
      // reset after both sides ended into a plain END_STREAM).
      stream.once("data", () => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        stream.write(grpcFrame(new Uint8Array([1])), () => stream.close(code));
      });
    } else {
      // Reset once the request is in, so it is not a reaction to the client's own half-close.
      stream.on("data", () => undefined);
      stream.on("end", () => stream.close(code));
    }
  });
  const channel = channelFor(t, port);
  const call = unaryUnary(channel, "/raw.Rst/Call");
  const bidi = streamStream(channel, "/raw.Rst/Bidi");
  for (const [rst, code] of cases) {
    await rejectsWith(call(new Uint8Array(), { metadata: { "x-rst": String(rst) } }), code);
    const requests = createPushable<Uint8Array>();
    requests.push(new Uint8Array([7]));
    const items: Uint8Array[] = [];
    await rejectsWith(
      (async () => {
        for await (const item of bidi(requests, { metadata: { "x-rst": String(rst), "x-after-headers": "1" } })) items.push(item);
      })(),
      code,
    );
    assert.equal(items.length, 1, `the message before RST_STREAM ${rst} is delivered`);
  }
});

test("a response that ends without trailers is UNKNOWN", T, async (t) => {
  const port = await rawServer(t, (stream) => {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.end(grpcFrame(new Uint8Array([1])));
    });
  });
  await rejectsWith(unaryUnary(channelFor(t, port), "/raw.NoTrailers/Call")(new Uint8Array()), Code.UNKNOWN);
});

test("a response without grpc-status maps its HTTP status", T, async (t) => {
  const cases: Array<[number, Code]> = [
    [400, Code.INTERNAL],
    [401, Code.UNAUTHENTICATED],
    [403, Code.PERMISSION_DENIED],
    [404, Code.UNIMPLEMENTED],
    [429, Code.UNAVAILABLE],
    [502, Code.UNAVAILABLE],
    [503, Code.UNAVAILABLE],
    [504, Code.UNAVAILABLE],
    [500, Code.UNKNOWN],
    [200, Code.UNKNOWN],
  ];
  const port = await rawServer(t, (stream, headers) => {
    const status = Number(headers["x-status"]);
    const withBody = headers["x-body"] === "1";
    stream.on("data", () => undefined);
    stream.on("end", () => {
      if (withBody) {
        stream.respond({ ":status": status, "content-type": "text/html" });
        stream.end("<h1>proxy error</h1>");
      } else {
        stream.respond({ ":status": status, "content-type": "application/grpc" }, { endStream: true });
      }
    });
  });
  const call = unaryUnary(channelFor(t, port), "/raw.Http/Status");
  for (const [status, code] of cases) {
    await rejectsWith(call(new Uint8Array(), { metadata: { "x-status": String(status) } }), code);
    await rejectsWith(call(new Uint8Array(), { metadata: { "x-status": String(status), "x-body": "1" } }), code);
  }
});

test("an unparsable grpc-status is UNKNOWN; a non-gRPC content-type is UNKNOWN", T, async (t) => {
  const port = await rawServer(t, (stream, headers) => {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      if (headers["x-mode"] === "bad-status") {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "nope" }, { endStream: true });
      } else {
        stream.respond({ ":status": 200, "content-type": "application/json" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(grpcFrame(new Uint8Array([1])));
      }
    });
  });
  const call = unaryUnary(channelFor(t, port), "/raw.Bad/Status");
  await rejectsWith(call(new Uint8Array(), { metadata: { "x-mode": "bad-status" } }), Code.UNKNOWN);
  await rejectsWith(call(new Uint8Array(), { metadata: { "x-mode": "content-type" } }), Code.UNKNOWN);
});

test("a response body cut in the middle of a message is INTERNAL", T, async (t) => {
  const port = await rawServer(t, (stream) => {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame(new Uint8Array(10)).subarray(0, 8));
    });
  });
  await rejectsWith(unaryUnary(channelFor(t, port), "/raw.Cut/Call")(new Uint8Array()), Code.INTERNAL);
});

test("a failing unary call observed only through call.status raises no unhandled rejection", T, async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  t.after(() => process.off("unhandledRejection", onUnhandled));
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: () => {
        throw new RpcError(Code.NOT_FOUND, "nope");
      },
    }),
  );
  const { client } = echoClient(t, port);
  const call = client.unary({});
  const status = await call.status;
  assert.equal(status.code, Code.NOT_FOUND);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(unhandled, []);
  // Awaiting the call itself still rejects.
  await rejectsWith(call, Code.NOT_FOUND);
});
