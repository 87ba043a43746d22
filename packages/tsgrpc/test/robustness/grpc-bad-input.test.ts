import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import {
  buildFrame,
  dataFrame,
  ErrorCode,
  FrameType,
  grpcMessage,
  grpcRequestHeaders,
  headersFrame,
  hpackBlock,
  pingFrame,
  RawFrameClient,
  rstStreamFrame,
  windowUpdateFrame,
} from "../helpers/raw-frames.js";
import { echoImpl, encodeRequest, startTestServer, UNARY, type TestServer } from "../helpers/test-server.js";
import { assertServesNewConnection } from "../helpers/robustness.js";

failOnLeakedHandles();

/**
 * gRPC-level bad input and frame floods on raw connections. Each case checks the answer (grpc-status,
 * HTTP status, RST_STREAM or GOAWAY), whether the connection survives (it must for a bad call, it must
 * not for a flood), and that a normal call on a new connection still succeeds within a second.
 */

type Field = [string, string | Buffer];
const OK = encodeRequest({ message: "ok" });

interface Answer {
  grpcStatus?: number;
  httpStatus?: number;
  rst?: number;
}

interface CallCase {
  name: string;
  headers?: Field[];
  /** Replaces the standard request head entirely. */
  rawHeaders?: Field[];
  body?: Buffer;
  expect: Answer;
}

const CALL_CASES: CallCase[] = [
  { name: "a length prefix longer than the body", body: Buffer.concat([Buffer.from([0, 0, 0, 0, 100]), Buffer.alloc(10)]), expect: { grpcStatus: Code.INTERNAL } },
  { name: "a length prefix over the receive limit", body: Buffer.from([0, 0, 0x50, 0, 0]), expect: { grpcStatus: Code.RESOURCE_EXHAUSTED } },
  { name: "a truncated length prefix", body: Buffer.from([0, 0, 0]), expect: { grpcStatus: Code.INTERNAL } },
  { name: "an invalid compressed flag (2)", body: grpcMessage(OK, 2), expect: { grpcStatus: Code.INTERNAL } },
  { name: "the compressed flag without grpc-encoding", body: grpcMessage(OK, 1), expect: { grpcStatus: Code.INTERNAL } },
  { name: "an unknown grpc-encoding", headers: [["grpc-encoding", "snappy"]], body: grpcMessage(OK), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "garbage where gzip was announced", headers: [["grpc-encoding", "gzip"]], body: grpcMessage(Buffer.from("not gzip"), 1), expect: { grpcStatus: Code.INTERNAL } },
  { name: "grpc-timeout with a bad unit", headers: [["grpc-timeout", "1x"]], body: grpcMessage(OK), expect: { grpcStatus: Code.INTERNAL } },
  { name: "grpc-timeout with 9 digits", headers: [["grpc-timeout", "123456789S"]], body: grpcMessage(OK), expect: { grpcStatus: Code.INTERNAL } },
  { name: "grpc-timeout negative", headers: [["grpc-timeout", "-1S"]], body: grpcMessage(OK), expect: { grpcStatus: Code.INTERNAL } },
  { name: "grpc-timeout empty", headers: [["grpc-timeout", ""]], body: grpcMessage(OK), expect: { grpcStatus: Code.INTERNAL } },
  { name: "grpc-timeout 0", headers: [["grpc-timeout", "0n"]], body: grpcMessage(OK), expect: { grpcStatus: Code.DEADLINE_EXCEEDED } },
  {
    name: "content-type text/plain",
    rawHeaders: [[":method", "POST"], [":scheme", "http"], [":path", UNARY], [":authority", "x"], ["content-type", "text/plain"], ["te", "trailers"]],
    body: grpcMessage(OK),
    expect: { httpStatus: 415 },
  },
  {
    name: "no content-type",
    rawHeaders: [[":method", "POST"], [":scheme", "http"], [":path", UNARY], [":authority", "x"], ["te", "trailers"]],
    body: grpcMessage(OK),
    expect: { httpStatus: 415 },
  },
  {
    name: "content-type application/grpcx",
    rawHeaders: [[":method", "POST"], [":scheme", "http"], [":path", UNARY], [":authority", "x"], ["content-type", "application/grpcx"], ["te", "trailers"]],
    body: grpcMessage(OK),
    expect: { httpStatus: 415 },
  },
  {
    name: "GET instead of POST",
    rawHeaders: [[":method", "GET"], [":scheme", "http"], [":path", UNARY], [":authority", "x"], ["content-type", "application/grpc"], ["te", "trailers"]],
    expect: { httpStatus: 405 },
  },
  { name: "an unknown method", rawHeaders: grpcRequestHeaders("/tsgrpc.test.Echo/Nope"), body: grpcMessage(OK), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "an unknown service", rawHeaders: grpcRequestHeaders("/no.Such/Method"), body: grpcMessage(OK), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "a path of just /", rawHeaders: grpcRequestHeaders("/"), body: grpcMessage(OK), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "a path with a query", rawHeaders: grpcRequestHeaders(`${UNARY}?x=1`), body: grpcMessage(OK), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "two requests to a unary method", body: Buffer.concat([grpcMessage(OK), grpcMessage(OK)]), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "no request to a unary method", body: Buffer.alloc(0), expect: { grpcStatus: Code.UNIMPLEMENTED } },
  { name: "a request that is not protobuf", body: grpcMessage(Buffer.from([0xff, 0xff, 0xff])), expect: { grpcStatus: Code.INTERNAL } },
  { name: "12 KiB of metadata (over the 8 KiB limit)", headers: [["x-big", "a".repeat(12 * 1024)]], body: grpcMessage(OK), expect: { rst: -1 } },
];

let server: TestServer;

/** One call on a fresh raw connection; the answer as it came. */
async function callRaw(port: number, c: CallCase): Promise<{ answer: Answer; client: RawFrameClient }> {
  const client = await RawFrameClient.connect(port);
  const head = c.rawHeaders ?? grpcRequestHeaders(UNARY, c.headers);
  client.send(headersFrame(1, hpackBlock(head)), dataFrame(1, c.body ?? Buffer.alloc(0), true));
  const end = await client.waitFor(
    (f) => f.streamId === 1 && (f.type === FrameType.RST_STREAM || ((f.type === FrameType.HEADERS || f.type === FrameType.DATA) && (f.flags & 0x1) !== 0)),
    3000,
  );
  const fields = (client.headerBlocks.get(1) ?? []).flat();
  const value = (name: string): string | undefined => fields.find(([n]) => n === name)?.[1].toString("latin1");
  const answer: Answer = {};
  if (end.type === FrameType.RST_STREAM) answer.rst = end.payload.readUInt32BE(0);
  const status = value(":status");
  if (status !== undefined) answer.httpStatus = Number(status);
  const grpcStatus = value("grpc-status");
  if (grpcStatus !== undefined) answer.grpcStatus = Number(grpcStatus);
  return { answer, client };
}

describe("gRPC-level bad input: the call's answer, the connection lives, the server serves", () => {
  before(async () => {
    server = await startTestServer((s) => s.addService(Echo, echoImpl));
  });
  after(() => server.close());

  for (const c of CALL_CASES) {
    test(c.name, { timeout: 10_000 }, async () => {
      const { answer, client } = await callRaw(server.port, c);
      try {
        if (c.expect.grpcStatus !== undefined) {
          assert.equal(answer.grpcStatus, c.expect.grpcStatus, `${c.name}: ${JSON.stringify(answer)}`);
          assert.equal(answer.httpStatus, 200, "gRPC errors travel with HTTP 200");
        }
        if (c.expect.httpStatus !== undefined) assert.equal(answer.httpStatus, c.expect.httpStatus, `${c.name}: ${JSON.stringify(answer)}`);
        if (c.expect.rst !== undefined) {
          // Over SETTINGS_MAX_HEADER_LIST_SIZE nghttp2 refuses the stream before the server sees it.
          assert.ok(answer.rst !== undefined || answer.grpcStatus === Code.RESOURCE_EXHAUSTED, `${c.name}: refused, got ${JSON.stringify(answer)}`);
        }
        // A bad call is not a bad connection: the same connection serves the next one.
        const next = await client.unary(3, UNARY, OK);
        assert.equal(next.status, "0", `${c.name}: the connection still serves`);
        assert.equal(client.goawayIfAny(), undefined, `${c.name}: no GOAWAY`);
      } finally {
        await client.destroy();
      }
      await assertServesNewConnection(server.port, c.name);
    });
  }
});

interface FloodCase {
  name: string;
  frames: () => Buffer[];
  /** The GOAWAY code the flood earns; undefined: it is harmless and the connection stays. */
  goaway: number | undefined;
  /** How soon the server must close the connection after the GOAWAY. */
  closeWithinMs?: number;
}

const N = 20_000;
const FLOODS: FloodCase[] = [
  { name: "a PING flood", frames: () => Array.from({ length: N }, () => pingFrame()), goaway: ErrorCode.ENHANCE_YOUR_CALM },
  {
    // nghttp2's RST_STREAM rate limit (burst 1000): GOAWAY(INTERNAL_ERROR), then node stops reading, and
    // the server's dead check closes the connection after the keepalive timeout (500 ms here).
    name: "an RST_STREAM flood on one closed stream",
    frames: () => [headersFrame(1, hpackBlock(grpcRequestHeaders(UNARY))), ...Array.from({ length: N }, () => rstStreamFrame(1, ErrorCode.CANCEL))],
    goaway: ErrorCode.INTERNAL_ERROR,
    closeWithinMs: 2000,
  },
  {
    name: "RST_STREAM on a closed stream, a few hundred times (under nghttp2's burst)",
    frames: () => [headersFrame(1, hpackBlock(grpcRequestHeaders(UNARY))), ...Array.from({ length: 500 }, () => rstStreamFrame(1, ErrorCode.CANCEL))],
    goaway: undefined,
  },
  { name: "a WINDOW_UPDATE flood (small increments)", frames: () => Array.from({ length: N }, () => windowUpdateFrame(0, 1)), goaway: undefined },
  { name: "a PRIORITY flood", frames: () => Array.from({ length: N }, (_, i) => buildFrame(FrameType.PRIORITY, 0, 1 + 2 * (i % 100), Buffer.from([0, 0, 0, 0, 16]))), goaway: undefined },
  { name: "empty DATA frames on an open stream", frames: () => [headersFrame(1, hpackBlock(grpcRequestHeaders(UNARY))), ...Array.from({ length: N }, () => dataFrame(1, Buffer.alloc(0)))], goaway: ErrorCode.INTERNAL_ERROR },
];

describe("floods: a harmless flood leaves the connection serving; an abusive one is cut", () => {
  before(async () => {
    server = await startTestServer((s) => s.addService(Echo, echoImpl), { keepaliveTimeoutMs: 500 });
  });
  after(() => server.close());

  for (const f of FLOODS) {
    test(f.name, { timeout: 15_000 }, async () => {
      const client = await RawFrameClient.connect(server.port);
      try {
        client.send(...f.frames());
        if (f.goaway === undefined) {
          const r = await client.unary(1001, UNARY, OK, [], 5000);
          assert.equal(r.status, "0", `${f.name}: still serving (${JSON.stringify(client.goawayIfAny())})`);
          assert.equal(client.goawayIfAny(), undefined);
        } else {
          const goaway = await client.goaway(5000);
          assert.equal(goaway.code, f.goaway, `${f.name}: GOAWAY ${goaway.code} ${goaway.debug}`);
          assert.equal(await client.closedByPeerWithin(f.closeWithinMs ?? 1000), true, `${f.name}: the server closed the connection`);
        }
      } finally {
        await client.destroy();
      }
      await assertServesNewConnection(server.port, f.name);
    });
  }
});
