import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Code,
  createChannel,
  createClient,
  createServer,
  registerCompressor,
  type CallOptions,
  type ChannelArgs,
  type ChannelOptions,
  type ClientCallDetails,
  type CompressionName,
  type ServerArgs,
  type ServerContext,
  type ServerOptions,
} from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl } from "../helpers/test-server.js";
import { expectType, type Equal } from "../helpers/type-checks.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

test("types: CompressionName keeps the known names (for completion) and takes any other string", () => {
  expectType<Equal<CompressionName, "identity" | "gzip" | "deflate" | (string & {})>>(true);
  // Not collapsed to plain `string`: the literal members are still there for editors to offer.
  expectType<Equal<Extract<CompressionName, "identity" | "gzip" | "deflate">, "identity" | "gzip" | "deflate">>(true);
  expectType<Equal<string extends CompressionName ? true : false, true>>(true);

  // Every place a compression name is chosen takes exactly that type.
  expectType<Equal<Exclude<CallOptions["compression"], undefined>, CompressionName>>(true);
  expectType<Equal<Exclude<ChannelOptions["compression"], undefined>, CompressionName>>(true);
  expectType<Equal<Exclude<ServerOptions["compression"], undefined>, CompressionName>>(true);
  expectType<Equal<Parameters<ServerContext["setCompression"]>[0], CompressionName>>(true);
  expectType<Equal<Exclude<ClientCallDetails["compression"], undefined>, CompressionName>>(true);
  // gRPC's channel argument takes the algorithm number or a name.
  expectType<Equal<Exclude<ChannelArgs["grpc.default_compression_algorithm"], undefined>, number | CompressionName>>(true);
  expectType<Equal<Exclude<ServerArgs["grpc.default_compression_algorithm"], undefined>, number | CompressionName>>(true);
});

/** A registered compressor of its own (bytes reversed), counting what it did. */
const seen = { compressed: 0, decompressed: 0 };
const reverse = (data: Uint8Array): Uint8Array => Uint8Array.from(data).reverse();
registerCompressor({
  name: "x-reverse",
  compress(data) {
    seen.compressed++;
    return reverse(data);
  },
  decompress(data) {
    seen.decompressed++;
    return reverse(data);
  },
});

test("a registered name type-checks and works wherever a compression name goes", T, async (t) => {
  // A name held in a plain `string` variable type-checks as well as a literal.
  const name: string = "x-reverse";
  let requestCompressed: boolean | undefined;
  const { port } = await serve(
    t,
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary(request, ctx) {
          requestCompressed = ctx.requestCompressed;
          ctx.setCompression("x-reverse");
          return { message: request.message };
        },
      }),
    { compression: name },
  );
  const client = createClient(Echo, channelFor(t, port, { compression: "x-reverse" }));
  const before = { ...seen };
  assert.equal((await client.unary({ message: "turned around" }, { compression: name })).message, "turned around");
  assert.equal(requestCompressed, true, "the request went out in x-reverse");
  assert.ok(seen.compressed >= before.compressed + 2, "request and response were compressed");
  assert.ok(seen.decompressed >= before.decompressed + 2, "and decompressed on the other side");
  // The known names still work next to it.
  assert.equal((await client.unary({ message: "gz" }, { compression: "gzip" })).message, "gz");
});

test("unknown names fail as before: at createChannel, createServer, on the call, and in setCompression", T, async (t) => {
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { compression: "brotli" }), /unknown compression "brotli"/);
  assert.throws(() => createServer({ compression: "snappy" }), /unknown compression "snappy"/);
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary(request, ctx) {
        ctx.setCompression("snappy");
        return { message: request.message };
      },
    }),
  );
  const client = createClient(Echo, channelFor(t, port));
  assert.throws(() => client.unary({}, { compression: "brotli" }), /unknown compression "brotli"/);
  await rejectsWith(client.unary({}), Code.INTERNAL, /unknown compression "snappy"/);
});
