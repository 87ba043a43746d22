import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test } from "node:test";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { frame } from "../helpers/raw-http2-client.js";
import { decodeResponse, echoImpl, encodeRequest, SERVER_STREAM, startTestServer, UNARY } from "../helpers/test-server.js";

failOnLeakedHandles();

/**
 * gRFC A8 "Server Enforcement": ping strikes go back to zero whenever the server sends HEADERS or DATA.
 * grpc-go and grpc-java clients ping after receiving DATA to estimate the bandwidth-delay product, so a
 * large response arriving in many flow-controlled DATA bursts draws one ping per burst. The server must
 * count every DATA frame it sends, not only the handler's writes, or it calls such a client abusive.
 */

const UNARY_BYTES = 3 * 1024 * 1024;
const STREAM_MESSAGES = 8;
const STREAM_MESSAGE_BYTES = 512 * 1024;

async function bdpServer() {
  return startTestServer((s) =>
    s.addService(Echo, {
      ...echoImpl,
      unary: () => ({ payload: new Uint8Array(UNARY_BYTES).fill(7) }),
      async *serverStream() {
        for (let index = 0; index < STREAM_MESSAGES; index++) yield { index, payload: new Uint8Array(STREAM_MESSAGE_BYTES) };
      },
    }),
  ); // keepalive enforcement at its defaults: 5 min between pings, 2 strikes
}

/** A node:http2 client that PINGs after every DATA chunk it receives, as a BDP estimator does. */
async function callPingingOnData(port: number, path: string): Promise<{ body: Buffer; status: string | undefined; goaways: number[] }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const goaways: number[] = [];
  session.on("goaway", (code) => goaways.push(code));
  session.on("error", () => undefined);
  try {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (!session.destroyed && !session.closed) {
        try {
          session.ping(() => undefined);
        } catch {
          // too many pings in flight: node refuses more than it has acks outstanding for
        }
      }
    });
    stream.on("trailers", (trailers) => (status = String(trailers["grpc-status"])));
    stream.end(frame(encodeRequest({ count: STREAM_MESSAGES })));
    await new Promise<void>((resolve) => stream.once("close", () => resolve()));
    return { body: Buffer.concat(chunks), status, goaways };
  } finally {
    session.destroy();
  }
}

function messagesOf(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  assert.equal(at, body.length, "the body ends on a message boundary");
  return out;
}

test("a client pinging after every DATA chunk of a multi-megabyte unary response gets all of it, no GOAWAY", { timeout: 60_000 }, async () => {
  const server = await bdpServer();
  try {
    for (let round = 0; round < 12; round++) {
      const { body, status, goaways } = await callPingingOnData(server.port, UNARY);
      assert.deepEqual(goaways, [], `round ${round}: no GOAWAY`);
      assert.equal(status, "0", `round ${round}: grpc-status OK`);
      const [message] = messagesOf(body);
      assert.equal(decodeResponse(message!).payload.length, UNARY_BYTES, `round ${round}: the whole response`);
    }
  } finally {
    await server.close();
  }
});

test("…and likewise for a server-streaming response of several large messages", { timeout: 60_000 }, async () => {
  const server = await bdpServer();
  try {
    for (let round = 0; round < 8; round++) {
      const { body, status, goaways } = await callPingingOnData(server.port, SERVER_STREAM);
      assert.deepEqual(goaways, [], `round ${round}: no GOAWAY`);
      assert.equal(status, "0", `round ${round}: grpc-status OK`);
      const messages = messagesOf(body);
      assert.equal(messages.length, STREAM_MESSAGES, `round ${round}: every message`);
      for (const m of messages) assert.equal(decodeResponse(m).payload.length, STREAM_MESSAGE_BYTES);
    }
  } finally {
    await server.close();
  }
});
