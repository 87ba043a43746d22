import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { PREFACE, RawFrameClient, settingsFrame } from "../helpers/raw-frames.js";
import { echoImpl, encodeRequest, sleep, startTestServer, UNARY } from "../helpers/test-server.js";
import { createServer } from "../../src/index.js";

failOnLeakedHandles();

const HANDSHAKE_MS = 300;

/** Opens a TCP connection, writes `bytes`, and resolves with how long the server took to close it (or Infinity). */
async function closedAfter(port: number, bytes: Buffer, waitMs: number): Promise<number> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  socket.on("data", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const started = Date.now();
  if (bytes.length > 0) socket.write(bytes);
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now() - started)));
  const result = await Promise.race([closed, sleep(waitMs).then(() => Infinity)]);
  socket.destroy();
  await closed;
  return result;
}

test("grpc.server_handshake_timeout_ms: a connection without preface + SETTINGS in time is closed", { timeout: 15_000 }, async () => {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl), { "grpc.server_handshake_timeout_ms": HANDSHAKE_MS });
  try {
    const cases: Array<[string, Buffer]> = [
      ["nothing at all", Buffer.alloc(0)],
      ["half a preface", PREFACE.subarray(0, 10)],
      ["the preface but no SETTINGS", PREFACE],
    ];
    for (const [label, bytes] of cases) {
      const ms = await closedAfter(server.port, bytes, HANDSHAKE_MS + 1000);
      assert.ok(ms >= HANDSHAKE_MS - 50 && ms < HANDSHAKE_MS + 1000, `${label}: closed after ${ms} ms`);
    }
    // A connection that completed its handshake stays open past the timeout and serves calls.
    const client = await RawFrameClient.connect(server.port);
    try {
      await sleep(HANDSHAKE_MS * 2);
      assert.equal(client.isClosed || client.ended, false, "a handshaken connection stays");
      const r = await client.unary(1, UNARY, encodeRequest({ message: "hi" }));
      assert.equal(r.status, "0");
    } finally {
      await client.destroy();
    }
  } finally {
    await server.close();
  }
});

test("the preface and SETTINGS split over many writes are fine, as long as they finish in time", { timeout: 10_000 }, async () => {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl), { handshakeTimeoutMs: HANDSHAKE_MS });
  try {
    const bytes = Buffer.concat([PREFACE, settingsFrame()]);
    const ms = await (async () => {
      const socket = net.connect(server.port, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.on("data", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      for (const byte of bytes) {
        socket.write(Buffer.from([byte]));
        await sleep(2);
      }
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(0)));
      const r = await Promise.race([closed, sleep(HANDSHAKE_MS * 2).then(() => Infinity)]);
      socket.destroy();
      await closed;
      return r;
    })();
    assert.equal(ms, Infinity, "not closed");
  } finally {
    await server.close();
  }
});

test("a bad handshake timeout is refused when the server is made", () => {
  assert.throws(() => createServer({ handshakeTimeoutMs: 0 }), RangeError);
  assert.throws(() => createServer({ "grpc.server_handshake_timeout_ms": -1 }));
});
