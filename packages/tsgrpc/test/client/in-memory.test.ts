// The client pipeline over the in-memory connector: no sockets, so these run in milliseconds and can
// stage what a real server rarely does (a refused stream, an address that refuses) exactly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectivityState, interceptChannel, unaryStream, unaryUnary } from "tsgrpc";
import { createChannelWith } from "../../src/client/channel.js";
import { createInMemoryConnector, type InMemoryServerStream } from "../../src/client/connector/in-memory-connector.js";
import { encodeEnvelope } from "../../src/protocol/envelope.js";
import { Http2ErrorCode } from "../../src/protocol/status-mapping.js";
import { rejectsWith } from "../helpers/client-fixtures.js";

const OK_HEAD = { ":status": "200", "content-type": "application/grpc" };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (payload: Uint8Array): string => new TextDecoder().decode(payload);

/** Answers every call with its request bytes uppercased (`count` times), from `server` as seen in `peers`. */
function echoHandler(peers: string[], server = "s", count = 1) {
  return (stream: InMemoryServerStream): void => {
    const chunks: Buffer[] = [];
    stream.onData = (chunk) => chunks.push(Buffer.from(chunk));
    stream.onEnd = () => {
      peers.push(server);
      const request = Buffer.concat(chunks).subarray(5).toString();
      stream.respond({ ...OK_HEAD, "x-server": server });
      for (let i = 0; i < count; i++) stream.write(encodeEnvelope(bytes(request.toUpperCase()), false));
      stream.end({ "grpc-status": "0" });
    };
  };
}

test("a unary and a server-streaming call, with and without an interceptor, over the in-memory transport", async () => {
  const peers: string[] = [];
  const connector = createInMemoryConnector(echoHandler(peers, "s", 1));
  const channel = createChannelWith("ipv4:10.0.0.1:1", undefined, undefined, { connector });
  try {
    const states: ConnectivityState[] = [];
    channel.subscribe((s) => states.push(s));
    const call = unaryUnary(channel, "/mem.Echo/Unary", undefined, text);
    const response = call(bytes("hello"));
    assert.equal(await response, "HELLO");
    assert.equal((await response.headers).get("x-server"), "s");
    assert.equal((await response.status).code, Code.OK);
    const seen: string[] = [];
    const intercepted = interceptChannel(channel, (next) => (details) => {
      seen.push(details.method);
      return next(details);
    });
    assert.equal(await unaryUnary(intercepted, "/mem.Echo/Unary", undefined, text)(bytes("again")), "AGAIN");
    const streamed: string[] = [];
    for await (const message of unaryStream(intercepted, "/mem.Echo/Stream", undefined, text)(bytes("x"))) streamed.push(message);
    assert.deepEqual(streamed, ["X"]);
    assert.deepEqual(seen, ["/mem.Echo/Unary", "/mem.Echo/Stream"]);
    assert.deepEqual(states, [ConnectivityState.CONNECTING, ConnectivityState.READY]);
    assert.equal(connector.connections.length, 1, "one connection for every call (pick_first)");
  } finally {
    channel.close();
  }
});

test("pick_first skips an address that refuses, and a fail-fast call fails when every address does", async () => {
  const peers: string[] = [];
  const connector = createInMemoryConnector(echoHandler(peers));
  connector.refuse.add("10.0.0.1:1");
  const channel = createChannelWith("ipv4:10.0.0.1:1,10.0.0.2:2", undefined, undefined, { connector });
  try {
    assert.equal(await unaryUnary(channel, "/mem.Echo/Unary", undefined, text)(bytes("a")), "A");
    assert.deepEqual(connector.connections.map((c) => ("host" in c.address ? c.address.host : "")), ["10.0.0.1", "10.0.0.2"]);
  } finally {
    channel.close();
  }
  connector.refuse.add("10.0.0.2:2");
  const failing = createChannelWith("ipv4:10.0.0.1:1,10.0.0.2:2", undefined, { backoff: { initialMs: 60_000 } }, { connector });
  try {
    const error = await rejectsWith(unaryUnary(failing, "/mem.Echo/Unary")(bytes("a")), Code.UNAVAILABLE);
    assert.match(error.details, /failed to connect to ipv4:10\.0\.0\.1:1,10\.0\.0\.2:2: connect ECONNREFUSED 10\.0\.0\.2:2/);
    assert.equal(failing.getState(), ConnectivityState.TRANSIENT_FAILURE);
  } finally {
    failing.close();
  }
});

test("a refused stream is replayed transparently on a new attempt, with its request", async () => {
  const peers: string[] = [];
  const echo = echoHandler(peers);
  let streams = 0;
  const connector = createInMemoryConnector((stream) => {
    if (++streams === 1) stream.reset(Http2ErrorCode.REFUSED_STREAM);
    else echo(stream);
  });
  const channel = createChannelWith("ipv4:10.0.0.1:1", undefined, undefined, { connector });
  try {
    assert.equal(await unaryUnary(channel, "/mem.Echo/Unary", undefined, text)(bytes("again")), "AGAIN");
    assert.equal(streams, 2);
  } finally {
    channel.close();
  }
});

test("two responses to a unary call are UNIMPLEMENTED, on the plain and the intercepted path alike", async () => {
  const connector = createInMemoryConnector(echoHandler([], "s", 2));
  const channel = createChannelWith("ipv4:10.0.0.1:1", undefined, undefined, { connector });
  try {
    await rejectsWith(unaryUnary(channel, "/mem.Echo/Unary")(bytes("a")), Code.UNIMPLEMENTED);
    const intercepted = interceptChannel(channel, (next) => (details) => next(details));
    await rejectsWith(unaryUnary(intercepted, "/mem.Echo/Unary")(bytes("a")), Code.UNIMPLEMENTED);
  } finally {
    channel.close();
  }
});
