import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { assertServesNewConnection } from "../helpers/robustness.js";
import {
  buildFrame,
  dataFrame,
  ErrorCode,
  Flag,
  FrameType,
  grpcRequestHeaders,
  headersFrame,
  hpackBlock,
  openFdCount,
  pingFrame,
  RawFrameClient,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../helpers/raw-frames.js";
import { echoImpl, sleep, startTestServer, UNARY, type TestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

/**
 * Connection errors (RFC 9113 §5.4.1): the server answers with GOAWAY carrying the error code and then
 * MUST close the TCP connection. Each case sends the preface, SETTINGS, then one bad thing on a fresh
 * raw TCP connection, and checks the GOAWAY code, that the server closes the socket within a second,
 * that the server's file descriptors return to their level, and that a normal call on a new connection
 * still succeeds within a second.
 */

const openRequest = (id = 1): Buffer => headersFrame(id, hpackBlock(grpcRequestHeaders(UNARY)));

/** A header block of `size` bytes split over HEADERS + CONTINUATION frames of 16 KiB. */
function hugeHeaderBlock(size: number): Buffer[] {
  const block = hpackBlock(grpcRequestHeaders(UNARY, [["x-big", "a".repeat(size)]]));
  const frames = [buildFrame(FrameType.HEADERS, 0, 1, block.subarray(0, 16_384))];
  for (let at = 16_384; at < block.length; at += 16_384) {
    frames.push(buildFrame(FrameType.CONTINUATION, at + 16_384 >= block.length ? Flag.END_HEADERS : 0, 1, block.subarray(at, at + 16_384)));
  }
  return frames;
}

function rapidResetBurst(count: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(openRequest(1 + 2 * i), rstStreamFrame(1 + 2 * i, ErrorCode.CANCEL));
  return frames;
}

interface ConnectionErrorCase {
  name: string;
  frames: () => Buffer[];
  /** The GOAWAY error code the server answers with. */
  code: number;
}

/** What nghttp2 itself detects and answers with the RFC's code. */
const NGHTTP2_CASES: ConnectionErrorCase[] = [
  { name: "DATA on stream 0", frames: () => [dataFrame(0, Buffer.from("x"))], code: ErrorCode.PROTOCOL_ERROR },
  { name: "a bad HPACK block (index out of range)", frames: () => [headersFrame(1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))], code: ErrorCode.COMPRESSION_ERROR },
  { name: "a frame over SETTINGS_MAX_FRAME_SIZE", frames: () => [openRequest(), dataFrame(1, Buffer.alloc(16_385))], code: ErrorCode.FRAME_SIZE_ERROR },
  { name: "a SETTINGS frame whose length is not a multiple of 6", frames: () => [buildFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5))], code: ErrorCode.FRAME_SIZE_ERROR },
  { name: "CONTINUATION without HEADERS", frames: () => [buildFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1)], code: ErrorCode.PROTOCOL_ERROR },
  { name: "a 1 MiB header block", frames: () => hugeHeaderBlock(1024 * 1024), code: ErrorCode.COMPRESSION_ERROR },
];

/**
 * What node:http2 turns into a session error: node destroys the session, with GOAWAY(INTERNAL_ERROR)
 * unless the server supplies the code (server-listener.ts maps nghttp2's error number to the RFC's).
 * A WINDOW_UPDATE of 0 on a stream is a stream error in RFC 9113; node makes it a connection error.
 */
const NODE_CASES: ConnectionErrorCase[] = [
  { name: "SETTINGS_ENABLE_PUSH = 2", frames: () => [settingsFrame([[Setting.ENABLE_PUSH, 2]])], code: ErrorCode.PROTOCOL_ERROR },
  { name: "SETTINGS_INITIAL_WINDOW_SIZE > 2^31-1", frames: () => [settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]])], code: ErrorCode.FLOW_CONTROL_ERROR },
  { name: "SETTINGS_MAX_FRAME_SIZE < 16384", frames: () => [settingsFrame([[Setting.MAX_FRAME_SIZE, 16_383]])], code: ErrorCode.PROTOCOL_ERROR },
  { name: "WINDOW_UPDATE with increment 0 on the connection", frames: () => [windowUpdateFrame(0, 0)], code: ErrorCode.PROTOCOL_ERROR },
  { name: "WINDOW_UPDATE with increment 0 on a stream", frames: () => [openRequest(), windowUpdateFrame(1, 0)], code: ErrorCode.PROTOCOL_ERROR },
  { name: "HEADERS on an even (server-initiated) stream id", frames: () => [headersFrame(2, hpackBlock(grpcRequestHeaders(UNARY)))], code: ErrorCode.PROTOCOL_ERROR },
  { name: "RST_STREAM on an idle stream", frames: () => [rstStreamFrame(5, ErrorCode.CANCEL)], code: ErrorCode.PROTOCOL_ERROR },
  { name: "connection window overflow (WINDOW_UPDATE 2^31-1)", frames: () => [windowUpdateFrame(0, 2 ** 31 - 1)], code: ErrorCode.FLOW_CONTROL_ERROR },
  { name: "PUSH_PROMISE from a client", frames: () => [buildFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4))], code: ErrorCode.PROTOCOL_ERROR },
  { name: "a SETTINGS flood (20000 frames)", frames: () => Array.from({ length: 20_000 }, () => settingsFrame()), code: ErrorCode.ENHANCE_YOUR_CALM },
];

let server: TestServer;
let fdBaseline: number;

/** Waits (up to a second) for this process's descriptors to come back to the baseline. */
async function fdsBackToBaseline(label: string): Promise<void> {
  const giveUpAt = Date.now() + 1000;
  while (openFdCount() > fdBaseline && Date.now() < giveUpAt) await sleep(10);
  assert.ok(openFdCount() <= fdBaseline, `${label}: open fds back to ${fdBaseline}, now ${openFdCount()}`);
}

async function runCase(c: ConnectionErrorCase, port: number, closeWithinMs = 1000): Promise<void> {
  const client = await RawFrameClient.connect(port);
  try {
    client.send(...c.frames());
    const goaway = await client.goaway(2000);
    assert.equal(goaway.code, c.code, `${c.name}: GOAWAY code ${goaway.code} (${goaway.debug})`);
    assert.equal(await client.closedByPeerWithin(closeWithinMs), true, `${c.name}: the server closed the connection`);
  } finally {
    await client.destroy();
  }
  await fdsBackToBaseline(c.name);
  await assertServesNewConnection(port, c.name);
}

describe("connection errors: GOAWAY with the code, then the server closes the socket", () => {
  before(async () => {
    server = await startTestServer((s) => s.addService(Echo, echoImpl));
    await assertServesNewConnection(server.port, "warm-up");
    await sleep(50);
    fdBaseline = openFdCount();
  });
  after(() => server.close());

  for (const c of [...NGHTTP2_CASES, ...NODE_CASES]) {
    test(c.name, { timeout: 10_000 }, () => runCase(c, server.port));
  }
});

test("a rapid-reset burst: GOAWAY, and the connection is closed (after the keepalive timeout at most)", { timeout: 15_000 }, async () => {
  // After the burst nghttp2 stops reading but still writes: only an unanswered probe PING, after the
  // keepalive timeout (20 s by default), tells that session from a slow peer. A short timeout here.
  const s = await startTestServer((srv) => srv.addService(Echo, echoImpl), { keepaliveTimeoutMs: 300 });
  try {
    await assertServesNewConnection(s.port, "warm-up");
    const client = await RawFrameClient.connect(s.port);
    try {
      client.send(...rapidResetBurst(2000));
      const goaway = await client.goaway(2000);
      assert.equal(goaway.code, ErrorCode.INTERNAL_ERROR);
      assert.equal(await client.closedByPeerWithin(1500), true, "the server closed the connection");
    } finally {
      await client.destroy();
    }
    await assertServesNewConnection(s.port, "rapid reset");
  } finally {
    await s.close();
  }
});

test("a healthy idle connection with pings is not taken for dead", { timeout: 10_000 }, async () => {
  const s = await startTestServer((srv) => srv.addService(Echo, echoImpl), { keepaliveTimeoutMs: 300, keepalivePermitWithoutCalls: true, keepaliveMinTimeMs: 0 });
  try {
    const client = await RawFrameClient.connect(s.port);
    try {
      // The client answers the server's probe PINGs, and keeps sending things the server must read.
      client.socket.on("data", () => {
        for (const f of client.frames.splice(0)) {
          if (f.type === FrameType.PING && (f.flags & Flag.ACK) === 0) client.send(pingFrame(f.payload, true));
        }
      });
      for (let i = 0; i < 10; i++) {
        client.send(pingFrame(Buffer.from(`ping${String(i).padStart(4, "0")}`)));
        await sleep(150);
      }
      assert.equal(client.isClosed || client.ended, false, "still open");
    } finally {
      await client.destroy();
    }
  } finally {
    await s.close();
  }
});

test("an idle connection is probed at most once after the peer's last frame, not over and over", { timeout: 10_000 }, async () => {
  const s = await startTestServer((srv) => srv.addService(Echo, echoImpl));
  try {
    const client = await RawFrameClient.connect(s.port);
    try {
      let serverPings = 0;
      client.socket.on("data", () => {
        for (const f of client.frames.splice(0)) {
          if (f.type === FrameType.PING && (f.flags & Flag.ACK) === 0) {
            serverPings++;
            client.send(pingFrame(f.payload, true));
          }
        }
      });
      await sleep(2000);
      assert.ok(serverPings <= 2, `the server pinged ${serverPings} times in 2 s of silence`);
      assert.equal(client.isClosed || client.ended, false, "still open");
    } finally {
      await client.destroy();
    }
  } finally {
    await s.close();
  }
});
