import assert from "node:assert/strict";
import { test } from "node:test";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { frame, RawHttp2Client } from "../helpers/raw-http2-client.js";
import { decodeResponse, echoImpl, encodeRequest, startTestServer, UNARY, until } from "../helpers/test-server.js";

failOnLeakedHandles();

const REFUSED_STREAM = 7;

test("a server advertises SETTINGS_MAX_CONCURRENT_STREAMS 1000 by default", { timeout: 10_000 }, async () => {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl));
  const client = await RawHttp2Client.connect(server.port);
  try {
    // node fills remoteSettings with the defaults (unlimited) until the server's SETTINGS arrive.
    await until(() => client.session.remoteSettings.maxConcurrentStreams === 1000, 2000, "SETTINGS_MAX_CONCURRENT_STREAMS 1000");
  } finally {
    await client.close();
    await server.close();
  }
});

test("maxReceiveBufferBytes: past it new streams are refused (REFUSED_STREAM), the running call completes, then all is well again", { timeout: 20_000 }, async () => {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl), { maxReceiveBufferBytes: 1024 * 1024 });
  const budget = (server.server as unknown as { receiveBudget: { usedBytes: number } }).receiveBudget;
  const client = await RawHttp2Client.connect(server.port);
  const other = await RawHttp2Client.connect(server.port);
  try {
    // A 3 MiB request, sent in two halves: after the first the server holds 1.5 MiB of it.
    const request = frame(encodeRequest({ message: "big", payload: new Uint8Array(3 * 1024 * 1024).fill(1) }));
    const half = Math.floor(request.length / 2);
    const big = client.start(UNARY);
    big.write(request.subarray(0, half));
    await until(() => budget.usedBytes >= 1024 * 1024, 5000, "the budget to fill");

    // New streams, on this connection and another one, are refused without being processed.
    for (const c of [client, other]) {
      const refused = await c.call(UNARY, { messages: [encodeRequest({ message: "small" })] });
      assert.equal(refused.rstCode, REFUSED_STREAM, `refused with RST_STREAM REFUSED_STREAM, got ${refused.rstCode} / grpc-status ${refused.grpcStatus}`);
    }

    // The running call goes on and completes.
    big.end(request.subarray(half));
    const response = await big.response;
    assert.equal(response.grpcStatus, 0, response.grpcMessage);
    assert.equal(decodeResponse(response.messages[0]!.payload).payload.length, 3 * 1024 * 1024);
    assert.equal(budget.usedBytes, 0, "every byte given back");

    const again = await other.call(UNARY, { messages: [encodeRequest({ message: "again" })] });
    assert.equal(again.grpcStatus, 0);
    assert.equal(decodeResponse(again.messages[0]!.payload).message, "again");
  } finally {
    await client.close();
    await other.close();
    await server.close();
  }
});

test("a cancelled or reset call gives its buffered bytes back", { timeout: 20_000 }, async () => {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl), { maxReceiveBufferBytes: 1024 * 1024 });
  const budget = (server.server as unknown as { receiveBudget: { usedBytes: number } }).receiveBudget;
  const client = await RawHttp2Client.connect(server.port);
  try {
    for (let round = 0; round < 3; round++) {
      const call = client.start(UNARY);
      call.write(frame(new Uint8Array(2 * 1024 * 1024)).subarray(0, 1024 * 1024 + 100));
      await until(() => budget.usedBytes > 1024 * 1024, 5000, "the budget to fill");
      call.cancel();
      await call.response;
      await until(() => budget.usedBytes === 0, 2000, "the bytes given back");
    }
    const ok = await client.call(UNARY, { messages: [encodeRequest({ message: "ok" })] });
    assert.equal(ok.grpcStatus, 0);
  } finally {
    await client.close();
    await server.close();
  }
});
