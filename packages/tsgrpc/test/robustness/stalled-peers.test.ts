import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, type Server } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import {
  buildFrame,
  dataFrame,
  ErrorCode,
  Flag,
  FrameType,
  grpcMessage,
  grpcRequestHeaders,
  headersFrame,
  hpackBlock,
  openFdCount,
  RawFrameClient,
  Setting,
  settingsFrame,
} from "../helpers/raw-frames.js";
import { assertServesNewConnection } from "../helpers/robustness.js";
import { echoImpl, encodeRequest, SERVER_STREAM, sleep, startTestServer, UNARY, until } from "../helpers/test-server.js";

failOnLeakedHandles();

/**
 * Peers that stop cooperating rather than send bad frames: a reader that never opens its flow-control
 * window, a request that stops in the middle of a message, and a header block that never ends. Each must
 * cost the server a bounded amount, leave everyone else served, and give everything back when it goes.
 */

const budgetOf = (server: Server): { usedBytes: number } => (server as unknown as { receiveBudget: { usedBytes: number } }).receiveBudget;

test("a zero-window reader: the server-streaming handler is held back by flow control, not buffered without end", { timeout: 20_000 }, async () => {
  let produced = 0;
  const s = await startTestServer((server) =>
    server.addService(Echo, {
      ...echoImpl,
      async *serverStream(request) {
        for (let index = 0; index < request.count; index++) {
          produced++;
          yield { message: request.message, index };
        }
      },
    }),
  );
  try {
    const client = await RawFrameClient.connect(s.port);
    // INITIAL_WINDOW_SIZE 0: the server may send no DATA on any stream until a WINDOW_UPDATE that never comes.
    client.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0]]));
    const request = encodeRequest({ message: "x".repeat(1024), count: 100_000 });
    client.send(headersFrame(1, hpackBlock(grpcRequestHeaders(SERVER_STREAM))), dataFrame(1, grpcMessage(request), true));
    await until(() => produced > 0, 2_000, "the handler to start");
    await sleep(500);
    // 100,000 KiB-sized responses asked for; what the handler got to produce is bounded by the stream's buffers.
    assert.ok(produced < 1_000, `the handler produced ${produced} responses for a reader that reads nothing`);
    assert.equal(client.framesOn(1).filter((f) => f.type === FrameType.DATA && f.payload.length > 0).length, 0, "no DATA past a zero window");
    await assertServesNewConnection(s.port, "beside a zero-window reader");
    const before = produced;
    await client.destroy();
    await until(() => s.server.activeCalls === 0, 2_000, "the held call to end when its reader went away");
    await sleep(100);
    assert.ok(produced - before < 100, "the handler stopped producing once the call was gone");
  } finally {
    await s.close();
  }
});

test("a request stopped in the middle of a message: its deadline ends it, or its connection going away does, and its bytes come back", { timeout: 20_000 }, async () => {
  const s = await startTestServer((server) => server.addService(Echo, echoImpl));
  try {
    const half = grpcMessage(encodeRequest({ message: "y".repeat(4000) })).subarray(0, 1000);
    // With a deadline: DEADLINE_EXCEEDED although the request never completes.
    const timed = await RawFrameClient.connect(s.port);
    timed.send(headersFrame(1, hpackBlock(grpcRequestHeaders(UNARY, [["grpc-timeout", "200m"]]))), dataFrame(1, half));
    const end = await timed.waitFor((f) => f.streamId === 1 && f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0, 3_000);
    assert.ok(end);
    const status = (timed.headerBlocks.get(1) ?? []).flat().find(([n]) => n === "grpc-status")?.[1].toString();
    assert.equal(status, String(Code.DEADLINE_EXCEEDED));
    await timed.destroy();

    // Without one: the call waits (holding its partial message, counted in the server's budget) while others are served.
    const stalled = await RawFrameClient.connect(s.port);
    stalled.send(headersFrame(1, hpackBlock(grpcRequestHeaders(UNARY))), dataFrame(1, half));
    await until(() => budgetOf(s.server).usedBytes > 0, 2_000, "the partial message to be counted");
    await assertServesNewConnection(s.port, "beside a stalled request");
    const fdsWithPeer = openFdCount();
    await stalled.destroy();
    await until(() => s.server.activeCalls === 0 && budgetOf(s.server).usedBytes === 0, 2_000, "the call to end and give its bytes back");
    // Both ends of that connection are in this process: the client's descriptor and the server's.
    await until(() => openFdCount() <= fdsWithPeer - 2, 2_000, "the server to close the gone peer's socket");
  } finally {
    await s.close();
  }
});

test("a header block that never ends (a CONTINUATION flood): the connection is closed at once, the server serves on", { timeout: 20_000 }, async () => {
  const s = await startTestServer((server) => server.addService(Echo, echoImpl));
  try {
    for (const fragment of [Buffer.alloc(0), hpackBlock([["x-a", "b"]])]) {
      const client = await RawFrameClient.connect(s.port);
      const frames = [buildFrame(FrameType.HEADERS, 0, 1, hpackBlock(grpcRequestHeaders(UNARY)))];
      for (let i = 0; i < 20_000; i++) frames.push(buildFrame(FrameType.CONTINUATION, 0, 1, fragment));
      client.send(...frames);
      const label = fragment.length === 0 ? "empty CONTINUATION frames" : "CONTINUATION frames adding fields";
      assert.ok(await client.closedByPeerWithin(2_000), `${label}: the server closed the connection`);
      // nghttp2 decides the code (INTERNAL_ERROR today; see docs/http2-limitations.md).
      assert.equal(client.goawayIfAny()?.code, ErrorCode.INTERNAL_ERROR, `${label}: GOAWAY`);
      await client.destroy();
      await assertServesNewConnection(s.port, label);
    }
  } finally {
    await s.close();
  }
});
