// The interop TestService in process, for what the standard client cases touch only lightly: per-message
// compression both ways (tsgrpc's ServerContext.requestCompressed / disableNextMessageCompression and the
// client's sendUncompressed), the echoes on error paths, HalfDuplexCall, interval_us, CacheableUnaryCall.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, createChannel, createClient, createServer, RpcError, sendUncompressed, type Channel, type Client, type Server } from "tsgrpc";
import { failOnLeakedHandles } from "../../tsgrpc/test/helpers/leak-check.js";
import { CompressionTap } from "../src/compression-tap.js";
import { TestService } from "../src/gen/grpc/testing/test_pb.js";
import { createTestService, ECHO_INITIAL_KEY, ECHO_TRAILING_KEY } from "../src/test-service.js";

failOnLeakedHandles();

// The tap replaces this process's gzip compressor; the server then runs through it too, which it does
// not notice (its request and response buffers are never the client's).
const tap = new CompressionTap().install();
let server: Server;
let channel: Channel;
let client: Client<typeof TestService>;

describe("the interop TestService", () => {
  before(async () => {
    server = createServer().addService(TestService, createTestService());
    const port = await server.bind("127.0.0.1:0");
    channel = createChannel(`127.0.0.1:${port}`);
    client = createClient(tap.wrap(TestService), channel, { timeoutMs: 10_000 }) as unknown as Client<typeof TestService>;
  });

  after(async () => {
    channel.close();
    await server.forceShutdown();
  });

  const zeros = (size: number) => ({ body: new Uint8Array(size) });
const bytes = (value: string | Uint8Array | undefined): number[] | undefined =>
  value instanceof Uint8Array ? [...value] : undefined;

  async function failure(call: Promise<unknown>): Promise<RpcError> {
    try {
      await call;
    } catch (err) {
      assert.ok(err instanceof RpcError, String(err));
      return err;
    }
    assert.fail("the call succeeded");
  }

  async function collect<T>(responses: AsyncIterable<T>): Promise<T[]> {
    const all: T[] = [];
    for await (const response of responses) all.push(response);
    return all;
  }

  test("expect_compressed is checked against each request message's flag", async () => {
    const request = (expected: boolean, size = 100) => ({ expectCompressed: { value: expected }, payload: zeros(size) });

    const marked = [request(true), sendUncompressed(request(false))];
    const ok = await client.streamingInputCall(marked, { compression: "gzip" });
    assert.equal(ok.aggregatedPayloadSize, 200);
    assert.deepEqual(marked.map((r) => tap.sentCompressed(r)), [true, false]);

    const bothCompressed = await failure(client.streamingInputCall([request(true), request(false)], { compression: "gzip" }));
    assert.equal(bothCompressed.code, Code.INVALID_ARGUMENT);
    assert.match(bothCompressed.details, /expected an uncompressed request message/);

    const firstUncompressed = await failure(client.streamingInputCall([sendUncompressed(request(true)), request(false)], { compression: "gzip" }));
    assert.equal(firstUncompressed.code, Code.INVALID_ARGUMENT);
    assert.match(firstUncompressed.details, /expected a compressed request message/);

    // Without compression on the call, a marked message is just uncompressed like the others.
    const plain = await client.streamingInputCall([sendUncompressed(request(false)), request(false)]);
    assert.equal(plain.aggregatedPayloadSize, 200);

    const unary = await failure(client.unaryCall({ expectCompressed: { value: false }, responseSize: 1 }, { compression: "gzip" }));
    assert.equal(unary.code, Code.INVALID_ARGUMENT);
    const unaryOk = await client.unaryCall({ expectCompressed: { value: true }, responseSize: 1 }, { compression: "gzip" });
    assert.equal(unaryOk.payload?.body.length, 1);
  });

  test("ResponseParameters.compressed sets the compressed flag of each response message", async () => {
    const flags = [true, false, true, false, false];
    const responses = await collect(
      client.streamingOutputCall({ responseParameters: flags.map((compressed, i) => ({ size: 1000 + i, compressed: { value: compressed } })) }),
    );
    assert.deepEqual(responses.map((r) => r.payload?.body.length), [1000, 1001, 1002, 1003, 1004]);
    assert.deepEqual(responses.map((r) => tap.receivedCompressed(r)), flags);

    // Nothing asks for compression: nothing is compressed.
    const plain = await collect(client.streamingOutputCall({ responseParameters: [{ size: 500 }, { size: 600 }] }));
    assert.deepEqual(plain.map((r) => tap.receivedCompressed(r)), [false, false]);

    // The same over FullDuplexCall.
    const bidi = await collect(
      client.fullDuplexCall([{ responseParameters: [{ size: 300, compressed: { value: true } }, { size: 400, compressed: { value: false } }] }]),
    );
    assert.deepEqual(bidi.map((r) => tap.receivedCompressed(r)), [true, false]);
  });

  test("metadata is echoed when the call ends with an error status too", async () => {
    const metadata = { [ECHO_INITIAL_KEY]: "initial value", [ECHO_TRAILING_KEY]: new Uint8Array([1, 2, 3]) };
    const responseStatus = { code: Code.FAILED_PRECONDITION, message: "as asked" };

    const unary = client.unaryCall({ responseStatus }, { metadata });
    const unaryError = await failure(unary);
    assert.equal(unaryError.code, Code.FAILED_PRECONDITION);
    assert.equal(unaryError.details, "as asked");
    assert.equal((await unary.headers).get(ECHO_INITIAL_KEY), "initial value");
    assert.deepEqual(bytes((await unary.trailers).get(ECHO_TRAILING_KEY)), [1, 2, 3]);

    for (const call of [
      client.fullDuplexCall([{ responseStatus }], { metadata }),
      client.streamingOutputCall({ responseParameters: [{ size: 1 }], responseStatus }, { metadata }),
    ]) {
      const error = await failure(collect(call));
      assert.equal(error.code, Code.FAILED_PRECONDITION);
      assert.equal((await call.headers).get(ECHO_INITIAL_KEY), "initial value");
      assert.deepEqual(bytes((await call.trailers).get(ECHO_TRAILING_KEY)), [1, 2, 3]);
    }

    // A bidi call answering some requests before the failing one.
    const partial = client.fullDuplexCall([{ responseParameters: [{ size: 5 }] }, { responseStatus }, { responseParameters: [{ size: 6 }] }], { metadata });
    const seen: number[] = [];
    const partialError = await failure((async () => {
      for await (const response of partial) seen.push(response.payload?.body.length ?? -1);
    })());
    assert.deepEqual(seen, [5]);
    assert.equal(partialError.code, Code.FAILED_PRECONDITION);
    assert.deepEqual(bytes((await partial.trailers).get(ECHO_TRAILING_KEY)), [1, 2, 3]);
  });

  test("HalfDuplexCall answers every request after the half-close, in order", async () => {
    const responses = await collect(
      client.halfDuplexCall([{ responseParameters: [{ size: 3 }, { size: 1 }] }, { responseParameters: [{ size: 4 }] }]),
    );
    assert.deepEqual(responses.map((r) => r.payload?.body.length), [3, 1, 4]);
  });

  test("interval_us delays each response, accumulating", async () => {
    const started = Date.now();
    const responses = await collect(client.streamingOutputCall({ responseParameters: [{ size: 1, intervalUs: 60_000 }, { size: 2, intervalUs: 60_000 }] }));
    assert.equal(responses.length, 2);
    assert.ok(Date.now() - started >= 115, `took ${Date.now() - started} ms`);
  });

  test("bad response parameters are INVALID_ARGUMENT", async () => {
    assert.equal((await failure(client.unaryCall({ responseSize: -1 }))).code, Code.INVALID_ARGUMENT);
    assert.equal((await failure(collect(client.streamingOutputCall({ responseParameters: [{ size: -5 }] })))).code, Code.INVALID_ARGUMENT);
  });

  test("CacheableUnaryCall answers a fresh timestamp with cache-control", async () => {
    const first = client.cacheableUnaryCall({});
    const a = new TextDecoder().decode((await first).payload?.body);
    const b = new TextDecoder().decode((await client.cacheableUnaryCall({})).payload?.body);
    assert.match(a, /^\d+$/);
    assert.notEqual(a, b);
    assert.equal((await first.headers).get("cache-control"), "max-age=60, public");
  });

  test("UnimplementedCall is not implemented", async () => {
    assert.equal((await failure(client.unimplementedCall({}))).code, Code.UNIMPLEMENTED);
  });
});
