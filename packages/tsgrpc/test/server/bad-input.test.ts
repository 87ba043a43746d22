import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { Code, RpcError } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { frame, RawHttp2Client, type RawResponse } from "../helpers/raw-http2-client.js";
import {
  aborted,
  BIDI,
  CLIENT_STREAM,
  decodeResponse,
  deferred,
  echoImpl,
  encodeRequest,
  SERVER_STREAM,
  sleep,
  startTestServer,
  UNARY,
  type TestServer,
} from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };

/**
 * One server and one connection for the whole file: every bad request below is followed by a good one
 * on the same connection, so a bad request that breaks the session or the server shows up at once.
 */
let server: TestServer;
let client: RawHttp2Client;
let handlerStarted = deferred<AbortSignal>();
let unaryRuns = 0;
let clientStreamError: unknown;

describe("bad input, each followed by a good call on the same connection", () => {
  before(async () => {
    server = await startTestServer((s) => {
      s.addService(Echo, {
        ...echoImpl,
        unary(request) {
          unaryRuns++;
          return { message: request.message, payload: request.payload };
        },
        async clientStream(requests, ctx) {
          handlerStarted.resolve(ctx.signal);
          let n = 0;
          try {
            for await (const _ of requests) n++;
          } catch (err) {
            clientStreamError = err;
            throw err;
          }
          return { index: n };
        },
      });
    });
    client = await RawHttp2Client.connect(server.port);
  });

  after(async () => {
    await client.close();
    await server.close();
  });

  /** A normal unary call on the shared connection still works. */
  async function assertStillServes(label: string): Promise<void> {
    assert.equal(client.closed, false, `${label}: the connection survived`);
    const response = await client.call(UNARY, { messages: [encodeRequest({ message: "alive" })] });
    assert.equal(response.grpcStatus, 0, `${label}: a good call after it (${response.grpcMessage})`);
    assert.equal(decodeResponse(response.messages[0]!.payload).message, "alive");
  }

  function assertStatus(response: RawResponse, code: Code, label: string): void {
    assert.equal(response.grpcStatus, code, `${label}: grpc-status ${response.grpcStatus} (${response.grpcMessage})`);
    assert.equal(response.httpStatus, 200, `${label}: gRPC errors travel with HTTP 200`);
  }

  test("a length prefix with flag byte 7 is INTERNAL", T, async () => {
    const payload = encodeRequest({ message: "x" });
    const bad = frame(payload, 7);
    assertStatus(await client.call(UNARY, { body: bad }), Code.INTERNAL, "unary");
    assertStatus(await client.call(CLIENT_STREAM, { body: Buffer.concat([frame(payload), bad]) }), Code.INTERNAL, "client stream");
    await assertStillServes("flag 7");
  });

  test("a message cut short by END_STREAM is INTERNAL", T, async () => {
    const truncated = Buffer.concat([Buffer.from([0, 0, 0, 0, 10]), Buffer.from([1, 2, 3])]);
    assertStatus(await client.call(UNARY, { body: truncated }), Code.INTERNAL, "unary");
    // Only part of the 5-byte prefix.
    assertStatus(await client.call(CLIENT_STREAM, { body: Buffer.from([0, 0]) }), Code.INTERNAL, "partial prefix");
    await assertStillServes("truncated");
  });

  test("a malformed grpc-timeout is INTERNAL, answered Trailers-Only before the handler runs", T, async () => {
    for (const timeout of ["abc", "123456789S", "10x", "-5m", "1.5S", "S"]) {
      const response = await client.call(UNARY, { messages: [encodeRequest()], headers: { "grpc-timeout": timeout } });
      assertStatus(response, Code.INTERNAL, `grpc-timeout ${timeout}`);
      assert.equal(response.trailersOnly, true);
    }
    await assertStillServes("grpc-timeout");
  });

  test("grpc-timeout 0 has expired on arrival: DEADLINE_EXCEEDED, Trailers-Only, the handler never runs", T, async () => {
    unaryRuns = 0;
    for (const timeout of ["0m", "0n", "0S", "00000000H"]) {
      const response = await client.call(UNARY, { messages: [encodeRequest()], headers: { "grpc-timeout": timeout } });
      assertStatus(response, Code.DEADLINE_EXCEEDED, `grpc-timeout ${timeout}`);
      assert.equal(response.trailersOnly, true);
    }
    assert.equal(unaryRuns, 0);
    await assertStillServes("zero timeout");
  });

  test("a request that is not valid protobuf is INTERNAL", T, async () => {
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    assertStatus(await client.call(UNARY, { messages: [garbage] }), Code.INTERNAL, "unary");
    assertStatus(await client.call(SERVER_STREAM, { messages: [garbage] }), Code.INTERNAL, "server stream");
    assertStatus(await client.call(CLIENT_STREAM, { messages: [encodeRequest(), garbage] }), Code.INTERNAL, "client stream");
    assertStatus(await client.call(BIDI, { messages: [garbage] }), Code.INTERNAL, "bidi");
    await assertStillServes("bad protobuf");
  });

  test("a content-type that is not application/grpc gets HTTP 415", T, async () => {
    for (const contentType of ["text/plain", "application/json", "application/grpc-web", undefined]) {
      const response = await client.call(UNARY, { messages: [encodeRequest()], headers: { "content-type": contentType } });
      assert.equal(response.httpStatus, 415, `content-type ${contentType}`);
    }
    // Subtypes are gRPC.
    for (const contentType of ["application/grpc+proto", "application/grpc;charset=utf-8"]) {
      const response = await client.call(UNARY, { messages: [encodeRequest()], headers: { "content-type": contentType } });
      assert.equal(response.grpcStatus, 0, `content-type ${contentType}`);
    }
    await assertStillServes("content-type");
  });

  test("a method other than POST is refused at the HTTP level", T, async () => {
    const response = await client.call(UNARY, { headers: { ":method": "PUT" } });
    assert.equal(response.httpStatus, 405);
    await assertStillServes("PUT");
  });

  test("unknown method and unknown service are UNIMPLEMENTED, Trailers-Only", T, async () => {
    for (const path of ["/tsgrpc.test.Echo/Nope", "/no.Such/Unary", "/tsgrpc.test.echo/Unary", "/", "/x"]) {
      const response = await client.call(path, { messages: [encodeRequest()] });
      assertStatus(response, Code.UNIMPLEMENTED, path);
      assert.equal(response.trailersOnly, true, path);
      assert.match(String(response.headers?.["content-type"]), /^application\/grpc/);
    }
    // Also when the client keeps sending: the refusal must not depend on reading the body.
    const streaming = client.start("/no.Such/Method");
    streaming.send(encodeRequest());
    const head = await streaming.headersReceived;
    assert.equal(head["grpc-status"], String(Code.UNIMPLEMENTED));
    streaming.cancel();
    await streaming.response;
    await assertStillServes("unknown method");
  });

  test("a unary or server-streaming call with zero or two request messages is UNIMPLEMENTED", T, async () => {
    const one = encodeRequest({ message: "1" });
    assertStatus(await client.call(UNARY, { messages: [] }), Code.UNIMPLEMENTED, "unary, zero");
    assertStatus(await client.call(UNARY, { messages: [one, one] }), Code.UNIMPLEMENTED, "unary, two");
    assertStatus(await client.call(SERVER_STREAM, { messages: [] }), Code.UNIMPLEMENTED, "server stream, zero");
    assertStatus(await client.call(SERVER_STREAM, { messages: [one, one] }), Code.UNIMPLEMENTED, "server stream, two");
    // Zero messages with END_STREAM on the head itself (no DATA frame at all).
    assertStatus(await client.call(UNARY, { endStream: true }), Code.UNIMPLEMENTED, "unary, END_STREAM on HEADERS");
    await assertStillServes("cardinality");
  });

  test("a request message over 4 MiB is RESOURCE_EXHAUSTED; exactly 4 MiB is fine", T, async () => {
    const limit = 4 * 1024 * 1024;
    // A protobuf payload of `size` bytes: field 3 (bytes) with a 4-byte varint length.
    const request = (size: number): Uint8Array => {
      const body = size - 5;
      const out = new Uint8Array(size);
      out.set([0x1a, (body & 0x7f) | 0x80, ((body >> 7) & 0x7f) | 0x80, ((body >> 14) & 0x7f) | 0x80, body >> 21]);
      return out;
    };
    const over = await client.call(UNARY, { messages: [request(limit + 1)] });
    assertStatus(over, Code.RESOURCE_EXHAUSTED, "4 MiB + 1");
    // Only the prefix announcing a huge message: refused before any body is buffered.
    const announced = client.start(UNARY);
    announced.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff]));
    const head = await announced.headersReceived;
    assert.equal(head["grpc-status"], String(Code.RESOURCE_EXHAUSTED));
    await announced.response;
    const exact = await client.call(UNARY, { messages: [request(limit)] });
    assert.equal(exact.grpcStatus, 0, exact.grpcMessage);
    assert.equal(decodeResponse(exact.messages[0]!.payload).payload.length, limit - 5);
    await assertStillServes("size limit");
  });

  test("grpc-encoding the server lacks is UNIMPLEMENTED with grpc-accept-encoding listing what it has", T, async () => {
    const response = await client.call(UNARY, { messages: [encodeRequest()], headers: { "grpc-encoding": "snappy" } });
    assertStatus(response, Code.UNIMPLEMENTED, "snappy");
    assert.equal(response.trailersOnly, true);
    const accepted = String(response.headers?.["grpc-accept-encoding"]).split(",").map((s) => s.trim()).sort();
    assert.deepEqual(accepted, ["deflate", "gzip", "identity"]);
    await assertStillServes("snappy");
  });

  test("a compressed flag without grpc-encoding (or with identity) is INTERNAL", T, async () => {
    const compressed = gzipSync(encodeRequest({ message: "z" }));
    assertStatus(await client.call(UNARY, { body: frame(compressed, 1) }), Code.INTERNAL, "no grpc-encoding");
    assertStatus(
      await client.call(UNARY, { body: frame(compressed, 1), headers: { "grpc-encoding": "identity" } }),
      Code.INTERNAL,
      "grpc-encoding identity",
    );
    await assertStillServes("compressed flag");
  });

  test("a gzip message that does not decompress is INTERNAL", T, async () => {
    const response = await client.call(UNARY, {
      body: frame(new Uint8Array([1, 2, 3, 4, 5, 6]), 1),
      headers: { "grpc-encoding": "gzip" },
    });
    assertStatus(response, Code.INTERNAL, "corrupt gzip");
    await assertStillServes("corrupt gzip");
  });

  test("a client that resets mid-stream: the handler's signal aborts and its request stream fails CANCELLED", T, async () => {
    clientStreamError = undefined;
    handlerStarted = deferred<AbortSignal>();
    const call = client.start(CLIENT_STREAM);
    call.send(encodeRequest());
    const signal = await handlerStarted.promise;
    assert.equal(signal.aborted, false);
    // RST_STREAM(CANCEL) without END_STREAM before it: the upload is cancelled, not complete.
    call.cancel();
    const reason = await aborted(signal);
    assert.ok(reason instanceof RpcError && reason.code === Code.CANCELLED, String(reason));
    await call.response;
    assert.ok(clientStreamError instanceof RpcError && clientStreamError.code === Code.CANCELLED, String(clientStreamError));
    assert.equal(server.server.activeCalls, 0);
    await assertStillServes("reset mid-stream");
  });

  test("a broken message in the middle of a stream ends the call INTERNAL and fires the handler's signal", T, async () => {
    const started = deferred<AbortSignal>();
    const { port, close } = await startTestServer((s) =>
      s.addService(Echo, {
        async *bidi(_requests, ctx) {
          // Never reads its requests: it only learns of the broken request through its signal.
          started.resolve(ctx.signal);
          yield { message: "first" };
          await aborted(ctx.signal);
        },
      }),
    );
    try {
      const other = await RawHttp2Client.connect(port);
      const call = other.start(BIDI);
      call.send(encodeRequest());
      const signal = await started.promise;
      await call.waitForMessages(1);
      call.write(frame(encodeRequest(), 7));
      const reason = await aborted(signal);
      assert.ok(reason instanceof RpcError && reason.code === Code.INTERNAL, String(reason));
      const response = await call.response;
      assert.equal(response.grpcStatus, Code.INTERNAL);
      await other.close();
    } finally {
      await close();
    }
  });

  test("a unary request reset before END_STREAM never reaches the handler", T, async () => {
    unaryRuns = 0;
    const call = client.start(UNARY);
    call.send(encodeRequest({ message: "complete message, but no END_STREAM" }));
    await sleep(50); // the message is at the server
    call.cancel();
    const response = await call.response;
    assert.equal(response.grpcStatus, undefined);
    await sleep(50);
    assert.equal(unaryRuns, 0, "a cancelled request is not a complete one");
    assert.equal(server.server.activeCalls, 0);
    await assertStillServes("unary reset");
  });

  test("a connection dropped mid-call: the handler's signal aborts; other connections are unaffected", T, async () => {
    const started = deferred<AbortSignal>();
    const { port, close } = await startTestServer((s) =>
      s.addService(Echo, {
        async unary(_req, ctx) {
          started.resolve(ctx.signal);
          await aborted(ctx.signal);
          return {};
        },
      }),
    );
    try {
      const doomed = await RawHttp2Client.connect(port);
      const call = doomed.start(UNARY);
      call.send(encodeRequest());
      call.end();
      const signal = await started.promise;
      await doomed.destroy();
      const reason = await aborted(signal);
      assert.ok(reason instanceof RpcError && reason.code === Code.CANCELLED, String(reason));
    } finally {
      await close();
    }
    await assertStillServes("dropped connection elsewhere");
  });

  test("request metadata over the header-list limit is refused with RST_STREAM(ENHANCE_YOUR_CALM); the connection lives", T, async () => {
    // Under the limit (8 KiB by default, like gRPC's grpc.max_metadata_size) it is served.
    const fits = await client.call(UNARY, { messages: [encodeRequest()], headers: { "x-big": "a".repeat(7000) } });
    assert.equal(fits.grpcStatus, 0);
    // Over it, HTTP/2 refuses the stream; a client reports ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED.
    const over = await client.call(UNARY, { messages: [encodeRequest()], headers: { "x-huge": "a".repeat(20_000) } });
    assert.ok(
      over.grpcStatus === Code.RESOURCE_EXHAUSTED || over.rstCode === 0xb,
      `status ${over.grpcStatus}, rst ${over.rstCode}`,
    );
    await assertStillServes("huge metadata");
  });

  test("bytes that are not HTTP/2 at all end that connection only", T, async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1", () => socket.end("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      socket.on("error", reject);
      socket.on("close", () => resolve());
      socket.resume();
    });
    await assertStillServes("garbage connection");
  });
});
