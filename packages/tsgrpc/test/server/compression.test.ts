import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { createServer, type ServerOptions } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { frame, RawHttp2Client, type RawResponse } from "../helpers/raw-http2-client.js";
import {
  decodeResponse,
  echoImpl,
  encodeRequest,
  SERVER_STREAM,
  startTestServer,
  UNARY,
} from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };
// Compressible, so a compressed message is visibly smaller than the plain one.
const TEXT = "compress me ".repeat(200);

async function setup(
  t: { after(fn: () => Promise<void>): void },
  options: ServerOptions = {},
  impl: Parameters<typeof echoImplWith>[0] = {},
): Promise<RawHttp2Client> {
  const server = await startTestServer((s) => s.addService(Echo, echoImplWith(impl)), options);
  const client = await RawHttp2Client.connect(server.port);
  t.after(async () => {
    await client.close();
    await server.close();
  });
  return client;
}

function echoImplWith(overrides: Partial<typeof echoImpl>): typeof echoImpl {
  return { ...echoImpl, ...overrides };
}

/** The message texts of a response, decompressing with `encoding` where the flag says so. */
function texts(response: RawResponse, encoding?: "gzip" | "deflate"): string[] {
  return response.messages.map((m) => {
    let payload = m.payload;
    if (m.flag === 1) {
      assert.ok(encoding, "a compressed message needs a grpc-encoding");
      payload = encoding === "gzip" ? gunzipSync(payload) : inflateSync(payload);
    }
    return decodeResponse(payload).message;
  });
}

test("gzip and deflate requests are accepted (and plain messages on a compressed call too)", T, async (t) => {
  const client = await setup(t);
  const plain = encodeRequest({ message: TEXT });
  const gzip = await client.call(UNARY, { body: frame(gzipSync(plain), 1), headers: { "grpc-encoding": "gzip" } });
  assert.equal(gzip.grpcStatus, 0, gzip.grpcMessage);
  assert.deepEqual(texts(gzip), [TEXT]);

  const deflate = await client.call(UNARY, { body: frame(deflateSync(plain), 1), headers: { "grpc-encoding": "deflate" } });
  assert.equal(deflate.grpcStatus, 0, deflate.grpcMessage);
  assert.deepEqual(texts(deflate), [TEXT]);

  // The compressed flag is per message: flag 0 under grpc-encoding gzip is a plain message.
  const mixed = await client.call("/tsgrpc.test.Echo/ClientStream", {
    body: Buffer.concat([frame(gzipSync(encodeRequest({ message: "a" })), 1), frame(encodeRequest({ message: "b" }), 0)]),
    headers: { "grpc-encoding": "gzip" },
  });
  assert.equal(mixed.grpcStatus, 0, mixed.grpcMessage);
  assert.deepEqual(texts(mixed), ["a,b"]);
});

test("the receive limit applies after decompression: a small gzip bomb is RESOURCE_EXHAUSTED", T, async (t) => {
  const client = await setup(t, { maxReceiveMessageLength: 64 * 1024 });
  const big = encodeRequest({ payload: new Uint8Array(1024 * 1024) }); // 1 MiB of zeros, ~1 KiB gzipped
  const compressed = gzipSync(big);
  assert.ok(compressed.length < 64 * 1024);
  const response = await client.call(UNARY, { body: frame(compressed, 1), headers: { "grpc-encoding": "gzip" } });
  assert.equal(response.grpcStatus, 8, response.grpcMessage);
});

test("server compression gzip: responses are compressed only for clients that accept gzip", T, async (t) => {
  const client = await setup(t, { compression: "gzip" });
  const request = [encodeRequest({ message: TEXT })];

  const accepts = await client.call(UNARY, { messages: request, headers: { "grpc-accept-encoding": "identity,gzip" } });
  assert.equal(accepts.grpcStatus, 0);
  assert.equal(accepts.headers?.["grpc-encoding"], "gzip");
  assert.equal(accepts.messages[0]!.flag, 1, "compressed-flag byte set on the wire");
  assert.ok(accepts.messages[0]!.payload.length < TEXT.length / 4, "the payload really is compressed");
  assert.deepEqual(texts(accepts, "gzip"), [TEXT]);

  // With spaces after the commas, as some clients write it.
  const spaced = await client.call(UNARY, { messages: request, headers: { "grpc-accept-encoding": "deflate, gzip" } });
  assert.equal(spaced.headers?.["grpc-encoding"], "gzip");
  assert.equal(spaced.messages[0]!.flag, 1);

  const silent = await client.call(UNARY, { messages: request });
  assert.equal(silent.grpcStatus, 0);
  assert.equal(silent.headers?.["grpc-encoding"], undefined, "no grpc-encoding for a client that accepts nothing");
  assert.equal(silent.messages[0]!.flag, 0);
  assert.deepEqual(texts(silent), [TEXT]);

  const deflateOnly = await client.call(UNARY, { messages: request, headers: { "grpc-accept-encoding": "identity,deflate" } });
  assert.equal(deflateOnly.headers?.["grpc-encoding"], undefined, "never compress with what the peer did not advertise");
  assert.equal(deflateOnly.messages[0]!.flag, 0);

  // Every message of a stream is compressed.
  const stream = await client.call(SERVER_STREAM, {
    messages: [encodeRequest({ message: TEXT, count: 3 })],
    headers: { "grpc-accept-encoding": "gzip" },
  });
  assert.equal(stream.grpcStatus, 0);
  assert.equal(stream.headers?.["grpc-encoding"], "gzip");
  assert.deepEqual(stream.messages.map((m) => m.flag), [1, 1, 1]);
  assert.deepEqual(texts(stream, "gzip"), [TEXT, TEXT, TEXT]);
});

test("ctx.setCompression chooses per call, within what the client accepts", T, async (t) => {
  const client = await setup(t, { compression: "gzip" }, {
    unary(request, ctx) {
      ctx.setCompression(request.message.split(":")[0]!);
      return { message: TEXT };
    },
  });
  const call = (choice: string, accept?: string): Promise<RawResponse> =>
    client.call(UNARY, {
      messages: [encodeRequest({ message: `${choice}:` })],
      headers: accept === undefined ? {} : { "grpc-accept-encoding": accept },
    });

  const deflate = await call("deflate", "gzip,deflate");
  assert.equal(deflate.grpcStatus, 0, deflate.grpcMessage);
  assert.equal(deflate.headers?.["grpc-encoding"], "deflate");
  assert.equal(deflate.messages[0]!.flag, 1);
  assert.deepEqual(texts(deflate, "deflate"), [TEXT]);

  const identity = await call("identity", "gzip,deflate");
  assert.equal(identity.headers?.["grpc-encoding"], undefined, "identity overrides the server default");
  assert.equal(identity.messages[0]!.flag, 0);
  assert.deepEqual(texts(identity), [TEXT]);

  const notAccepted = await call("deflate", "gzip");
  assert.equal(notAccepted.headers?.["grpc-encoding"], undefined);
  assert.equal(notAccepted.messages[0]!.flag, 0);
  assert.deepEqual(texts(notAccepted), [TEXT]);
});

test("an unknown server compression is refused when the server is created", () => {
  assert.throws(() => createServer({ compression: "snappy" }), /snappy/);
});
