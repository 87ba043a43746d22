import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { HpackDecoder } from "../helpers/hpack-decode.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { grpcMessage, grpcRequestHeaders, headersFrame, dataFrame, hpackBlock, RawFrameClient, FrameType } from "../helpers/raw-frames.js";
import { echoImpl, encodeRequest, startTestServer, UNARY } from "../helpers/test-server.js";

failOnLeakedHandles();

/**
 * The interop "custom_metadata" pattern: the handler echoes x-grpc-test-echo-initial as initial metadata
 * and x-grpc-test-echo-trailing as trailing metadata. Any value the server accepted from the wire must
 * be sendable back, byte for byte, even when it is not printable ASCII (tabs inside, bytes 0x80-0xFF):
 * those are valid HTTP field values, and gRPC asks receivers to be lenient.
 */

/** One call over a raw connection; the response head and trailers decoded from the exact bytes sent. */
async function echoOnce(port: number, value: Buffer): Promise<{ initial: Buffer | undefined; trailing: Buffer | undefined; status: string | undefined }> {
  const client = await RawFrameClient.connect(port);
  try {
    client.send(
      headersFrame(1, hpackBlock(grpcRequestHeaders(UNARY, [["x-grpc-test-echo-initial", value], ["x-grpc-test-echo-trailing", value]]))),
      dataFrame(1, grpcMessage(encodeRequest({ message: "m" })), true),
    );
    await client.waitFor((f) => f.streamId === 1 && f.type === FrameType.HEADERS && (f.flags & 0x1) !== 0, 3000);
    const blocks = client.framesOn(1).filter((f) => f.type === FrameType.HEADERS).map((f) => f.payload);
    const decoder = new HpackDecoder(); // the trailers may refer to fields the head put in the dynamic table
    const fields = blocks.map((b) => decoder.decode(b));
    const all = fields.flat();
    return {
      initial: all.find(([n]) => n === "x-grpc-test-echo-initial")?.[1],
      trailing: all.find(([n]) => n === "x-grpc-test-echo-trailing")?.[1],
      status: all.find(([n]) => n === "grpc-status")?.[1].toString("latin1"),
    };
  } finally {
    await client.destroy();
  }
}

async function echoServer() {
  return startTestServer((s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary(request, ctx) {
        const initial = ctx.metadata.get("x-grpc-test-echo-initial");
        if (initial !== undefined) ctx.sendHeaders(new Metadata({ "x-grpc-test-echo-initial": initial }));
        const trailing = ctx.metadata.get("x-grpc-test-echo-trailing");
        if (trailing !== undefined) ctx.setTrailers({ "x-grpc-test-echo-trailing": trailing });
        return { message: request.message };
      },
    }),
  );
}

test("metadata values received from the wire are echoed back byte for byte", { timeout: 20_000 }, async () => {
  const server = await echoServer();
  try {
    const values = [Buffer.from("caf\xe9", "latin1"), Buffer.from("a\tb"), Buffer.from([0x61, 0x80, 0x9f, 0xa0, 0xff, 0x62]), Buffer.from("plain ascii ~!")];
    for (const value of values) {
      const { initial, trailing, status } = await echoOnce(server.port, value);
      assert.equal(status, "0", `${JSON.stringify(value.toString("latin1"))}: grpc-status`);
      assert.deepEqual(initial, value, "initial metadata echoed");
      assert.deepEqual(trailing, value, "trailing metadata echoed");
    }
  } finally {
    await server.close();
  }
});

test("sending: any valid HTTP field value is accepted; what HTTP/2 cannot carry is refused where it is added", () => {
  const md = new Metadata().add("k", "caf\u00e9").add("t", "a\tb").add("hi", "\u0080\u00ff");
  assert.equal(md.get("k"), "caf\u00e9");
  for (const bad of ["nul\0", "cr\r", "lf\n", "\u20ac", "\u{1F600}", " lead", "trail ", "\tlead", "trail\t", "del\x7f", "\x1f"]) {
    assert.throws(() => new Metadata().add("k", bad), TypeError, JSON.stringify(bad));
  }
});
