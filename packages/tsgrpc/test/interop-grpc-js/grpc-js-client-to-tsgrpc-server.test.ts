// Interop: an @grpc/grpc-js client (this process) against a tsgrpc server (a separate node process,
// peers/tsgrpc-echo-server.ts), over real TCP on 127.0.0.1. The peer's behaviour: peers/echo-behaviour.ts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import {
  assertSameBytes,
  BIN_VALUE,
  BIN_VALUE_2,
  callId,
  COMPRESSIBLE,
  CountingProxy,
  eventually,
  MiB,
  parseStats,
  randomPayload,
  sleep,
  startPeer,
  UNICODE_DETAILS,
  type Peer,
} from "./helpers.js";
import { JsEchoClient, jsValues, writeAll, type JsResult } from "./grpc-js-client.js";
import { FAIL_BIN_VALUE, type CallRecord } from "./peers/echo-behaviour.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const GZIP = 2; // grpc-js CompressionAlgorithms
const DEFLATE = 1;

function assertOk(result: JsResult): void {
  assert.equal(result.status.code, grpc.status.OK, `status ${result.status.code}: ${result.status.details}`);
}

function bytes(value: string | Buffer | undefined): number[] {
  assert.ok(Buffer.isBuffer(value), `expected bytes, got ${typeof value}`);
  return [...value];
}

/** Every text value of `key`, with values grpc-js joined into one header split apart again. */
function textValues(metadata: grpc.Metadata | undefined, key: string): string[] {
  return jsValues(metadata, key).flatMap((v) => String(v).split(", "));
}

describe("grpc-js client -> tsgrpc server (separate process)", { timeout: 50_000 }, () => {
  let peer: Peer;
  let js: JsEchoClient;
  const extraClients: JsEchoClient[] = [];
  const proxies: CountingProxy[] = [];

  before(async () => {
    peer = await startPeer("tsgrpc-echo-server.ts");
    js = new JsEchoClient(peer.address);
  });

  after(async () => {
    js?.close();
    for (const client of extraClients) client.close();
    for (const proxy of proxies) await proxy.close();
    await peer?.stop();
  });

  /** A grpc-js client going through a byte-counting proxy (its own connection). */
  async function viaProxy(options: grpc.ChannelOptions = {}): Promise<{ client: JsEchoClient; proxy: CountingProxy }> {
    const proxy = await CountingProxy.start(peer.port);
    proxies.push(proxy);
    const client = new JsEchoClient(proxy.address, options);
    extraClients.push(client);
    return { client, proxy };
  }

  async function callRecord(id: string, done: (r: CallRecord) => boolean = () => true): Promise<CallRecord> {
    return eventually(async () => {
      const result = await js.unary({ message: "stats?" });
      assertOk(result);
      const record = parseStats(result.responses[0]!.message).calls[id];
      return record && done(record) ? record : undefined;
    }, 5000, `the server's record of call ${id}`);
  }

  // ---- the four call kinds ------------------------------------------------------------------------

  test("unary: message and payload echoed", T, async () => {
    const payload = randomPayload(1000);
    const result = await js.unary({ message: "hello tsgrpc", payload });
    assertOk(result);
    assert.equal(result.responses.length, 1);
    assert.equal(result.responses[0]!.message, "hello tsgrpc");
    assertSameBytes(result.responses[0]!.payload, payload);
  });

  test("unary: an empty request message (zero-length frame) works", T, async () => {
    const result = await js.unary({});
    assertOk(result);
    assert.equal(result.responses[0]!.message, "");
  });

  test("server streaming: `count` responses in order", T, async () => {
    const result = await js.serverStream({ message: "tick", count: 5 });
    assertOk(result);
    assert.deepEqual(result.responses.map((r) => [r.message, r.index]), [0, 1, 2, 3, 4].map((i) => ["tick", i]));
  });

  test("server streaming: zero responses ends OK", T, async () => {
    const result = await js.serverStream({ message: "none", count: 0 });
    assertOk(result);
    assert.equal(result.responses.length, 0);
  });

  test("client streaming: every request arrives, one response", T, async () => {
    const result = await js.clientStream([{ message: "a" }, { message: "b" }, { message: "c" }]);
    assertOk(result);
    assert.equal(result.responses.length, 1);
    assert.equal(result.responses[0]!.message, "a,b,c");
    assert.equal(result.responses[0]!.index, 3);
  });

  test("client streaming: no requests at all", T, async () => {
    const result = await js.clientStream([]);
    assertOk(result);
    assert.equal(result.responses[0]!.index, 0);
  });

  test("bidi: ping-pong, each answer arrives before the next request is sent", T, async () => {
    const pending = js.bidi(undefined);
    const stream = pending.call;
    const answers: string[] = [];
    for (const word of ["one", "two", "three"]) {
      const answered = new Promise<void>((resolve) => stream.once("data", (r: { message: string }) => {
        answers.push(r.message);
        resolve();
      }));
      stream.write({ message: word });
      await answered;
    }
    stream.end();
    const result = await pending;
    assertOk(result);
    assert.deepEqual(answers, ["one", "two", "three"]);
    assert.deepEqual(result.responses.map((r) => r.index), [0, 1, 2]);
  });

  // ---- metadata ------------------------------------------------------------------------------------

  test("request metadata reaches the server: text, repeated, -bin (odd length)", T, async () => {
    const result = await js.unary({ message: "metadata?" }, {
      metadata: {
        "x-text": "hello world",
        "x-repeated": ["first", "second"],
        "x-data-bin": BIN_VALUE,
        "x-two-bin": [BIN_VALUE, BIN_VALUE_2],
        "x-empty": "",
        "x-empty-bin": new Uint8Array(0),
      },
    });
    assertOk(result);
    const seen = JSON.parse(result.responses[0]!.message) as Record<string, string[]>;
    assert.deepEqual(seen["x-text"], ["hello world"]);
    assert.deepEqual(seen["x-repeated"]?.flatMap((v) => v.split(", ")), ["first", "second"]);
    assert.deepEqual(seen["x-data-bin"], [`base64:${Buffer.from(BIN_VALUE).toString("base64")}`]);
    assert.deepEqual(seen["x-two-bin"], [BIN_VALUE, BIN_VALUE_2].map((v) => `base64:${Buffer.from(v).toString("base64")}`));
    assert.deepEqual(seen["x-empty"], [""]);
    assert.deepEqual(seen["x-empty-bin"], ["base64:"]);
  });

  const echoMetadata = {
    "x-echo-text": "initial value",
    "x-echo-repeated": ["r1", "r2"],
    "x-echo-data-bin": BIN_VALUE,
    "x-echo-trailer-text": "trailing value",
    "x-echo-trailer-data-bin": BIN_VALUE_2,
    "x-not-echoed": "stays on the server",
  };

  function assertEchoedMetadata(result: JsResult): void {
    assert.deepEqual(textValues(result.headers, "x-echo-text"), ["initial value"]);
    assert.deepEqual(textValues(result.headers, "x-echo-repeated"), ["r1", "r2"]);
    assert.deepEqual(bytes(jsValues(result.headers, "x-echo-data-bin")[0]), [...BIN_VALUE]);
    assert.deepEqual(jsValues(result.headers, "x-echo-trailer-text"), [], "trailer keys are not initial metadata");
    assert.deepEqual(jsValues(result.headers, "x-not-echoed"), []);
    assert.deepEqual(textValues(result.status.metadata, "x-echo-trailer-text"), ["trailing value"]);
    assert.deepEqual(bytes(jsValues(result.status.metadata, "x-echo-trailer-data-bin")[0]), [...BIN_VALUE_2]);
    assert.deepEqual(jsValues(result.status.metadata, "x-echo-text"), [], "initial keys are not trailing metadata");
  }

  test("initial and trailing metadata (text, repeated, -bin) back to the client: unary", T, async () => {
    const result = await js.unary({ message: "md" }, { metadata: echoMetadata });
    assertOk(result);
    assertEchoedMetadata(result);
  });

  test("initial and trailing metadata: server streaming", T, async () => {
    const result = await js.serverStream({ message: "md", count: 2 }, { metadata: echoMetadata });
    assertOk(result);
    assert.equal(result.responses.length, 2);
    assertEchoedMetadata(result);
  });

  test("initial and trailing metadata: client streaming", T, async () => {
    const result = await js.clientStream([{ message: "x" }], { metadata: echoMetadata });
    assertOk(result);
    assertEchoedMetadata(result);
  });

  test("initial and trailing metadata: bidi", T, async () => {
    const result = await js.bidi([{ message: "x" }, { message: "y" }], { metadata: echoMetadata });
    assertOk(result);
    assert.equal(result.responses.length, 2);
    assertEchoedMetadata(result);
  });

  // ---- deadlines and cancellation --------------------------------------------------------------------

  test("deadline: unary the server delays past the client's timeout -> DEADLINE_EXCEEDED", T, async () => {
    const id = callId("deadline-unary");
    const started = Date.now();
    const result = await js.unary({ message: "slow", delayMs: 5000 }, { timeoutMs: 300, metadata: { "x-call-id": id } });
    const elapsed = Date.now() - started;
    assert.equal(result.status.code, grpc.status.DEADLINE_EXCEEDED, result.status.details);
    assert.ok(elapsed < 3000, `the call took ${elapsed} ms`);
    const record = await callRecord(id, (r) => r.outcome !== undefined);
    assert.ok(record.deadlineMs !== null && record.deadlineMs <= 300, `server saw grpc-timeout as ${record.deadlineMs} ms`);
    assert.ok(record.outcome === "deadline" || record.outcome === "cancelled", `server outcome ${record.outcome}`);
  });

  test("deadline: mid server stream -> some responses, then DEADLINE_EXCEEDED", T, async () => {
    const id = callId("deadline-stream");
    const result = await js.serverStream({ message: "s", count: 100, delayMs: 100 }, { timeoutMs: 600, metadata: { "x-call-id": id } });
    assert.equal(result.status.code, grpc.status.DEADLINE_EXCEEDED, result.status.details);
    assert.ok(result.responses.length >= 1 && result.responses.length < 100, `${result.responses.length} responses`);
    const record = await callRecord(id, (r) => r.outcome !== undefined);
    assert.ok(record.outcome === "deadline" || record.outcome === "cancelled", `server outcome ${record.outcome}`);
  });

  test("deadline: a call that finishes in time is OK and the server saw the deadline", T, async () => {
    const id = callId("deadline-ok");
    const result = await js.unary({ message: "quick" }, { timeoutMs: 10_000, metadata: { "x-call-id": id } });
    assertOk(result);
    const record = await callRecord(id);
    assert.ok(record.deadlineMs !== null && record.deadlineMs > 5000 && record.deadlineMs <= 10_000, `deadline ${record.deadlineMs}`);
    assert.equal(record.outcome, "completed");
  });

  test("cancellation: unary cancelled by the client is seen by the server", T, async () => {
    const id = callId("cancel-unary");
    const pending = js.unary({ message: "slow", delayMs: 10_000 }, { metadata: { "x-call-id": id } });
    await callRecord(id); // the handler is running
    pending.call.cancel();
    const result = await pending;
    assert.equal(result.status.code, grpc.status.CANCELLED);
    const record = await callRecord(id, (r) => r.outcome !== undefined);
    assert.equal(record.outcome, "cancelled");
  });

  test("cancellation: server stream cancelled after two responses", T, async () => {
    const id = callId("cancel-stream");
    const pending = js.serverStream({ message: "s", count: 1000, delayMs: 50 }, { metadata: { "x-call-id": id } });
    let seen = 0;
    await new Promise<void>((resolve) => pending.call.on("data", () => ++seen === 2 && resolve()));
    pending.call.cancel();
    const result = await pending;
    assert.equal(result.status.code, grpc.status.CANCELLED);
    assert.ok(result.responses.length < 1000);
    const record = await callRecord(id, (r) => r.outcome !== undefined);
    assert.equal(record.outcome, "cancelled");
  });

  // Cancelling a call whose request side is still open, grpc-js 1.14 sends an empty DATA frame with
  // END_STREAM and only then RST_STREAM(CANCEL) (seen on the wire). A server idle on its request stream
  // may therefore take the upload as complete and answer before the reset arrives, which is correct for
  // what it received; so the server is kept busy with the first request here.
  test("cancellation: client stream cancelled before half-close", T, async () => {
    const id = callId("cancel-client-stream");
    const pending = js.clientStream(undefined, { metadata: { "x-call-id": id } });
    pending.call.write({ message: "slow", delayMs: 10_000 });
    await callRecord(id);
    await sleep(50);
    pending.call.cancel();
    const result = await pending;
    assert.equal(result.status.code, grpc.status.CANCELLED);
    const record = await callRecord(id, (r) => r.outcome !== undefined);
    assert.equal(record.outcome, "cancelled");
  });

  test("cancellation: bidi cancelled while the server is busy", T, async () => {
    const id = callId("cancel-bidi");
    const pending = js.bidi(undefined, { metadata: { "x-call-id": id } });
    pending.call.write({ message: "slow", delayMs: 10_000 });
    await callRecord(id);
    pending.call.cancel();
    const result = await pending;
    assert.equal(result.status.code, grpc.status.CANCELLED);
    const record = await callRecord(id, (r) => r.outcome !== undefined);
    assert.equal(record.outcome, "cancelled");
  });

  // ---- errors --------------------------------------------------------------------------------------

  test("error status with details and trailing metadata (Trailers-Only)", T, async () => {
    const result = await js.unary({ message: "fail:5:no such thing" });
    assert.equal(result.status.code, grpc.status.NOT_FOUND);
    assert.equal(result.status.details, "no such thing");
    assert.deepEqual(jsValues(result.status.metadata, "x-fail"), ["5"]);
    assert.deepEqual(bytes(jsValues(result.status.metadata, "x-fail-bin")[0]), [...FAIL_BIN_VALUE]);
  });

  test("error status: unicode, '%' and reserved characters in details survive", T, async () => {
    const result = await js.unary({ message: `fail:9:${UNICODE_DETAILS}` });
    assert.equal(result.status.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(result.status.details, UNICODE_DETAILS);
  });

  test("error status after streamed responses, with initial and trailing metadata", T, async () => {
    const result = await js.serverStream({ message: "fail:10:aborted after two", count: 2 }, {
      metadata: { "x-echo-head": "h", "x-echo-trailer-tail-bin": BIN_VALUE },
    });
    assert.equal(result.status.code, grpc.status.ABORTED);
    assert.equal(result.status.details, "aborted after two");
    assert.equal(result.responses.length, 2);
    assert.deepEqual(jsValues(result.headers, "x-echo-head"), ["h"]);
    assert.deepEqual(bytes(jsValues(result.status.metadata, "x-echo-trailer-tail-bin")[0]), [...BIN_VALUE]);
    assert.deepEqual(jsValues(result.status.metadata, "x-fail"), ["10"]);
  });

  test("error status from client streaming and bidi", T, async () => {
    const cs = await js.clientStream([{ message: "ok" }, { message: "fail:3:bad second request" }]);
    assert.equal(cs.status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(cs.status.details, "bad second request");
    const bidi = await js.bidi([{ message: "ok" }, { message: "fail:11:out of range" }]);
    assert.equal(bidi.status.code, grpc.status.OUT_OF_RANGE);
    assert.equal(bidi.status.details, "out of range");
    assert.equal(bidi.responses.length, 1);
    assert.deepEqual(jsValues(bidi.status.metadata, "x-fail"), ["11"]);
  });

  test("unknown method -> UNIMPLEMENTED", T, async () => {
    const result = await js.unaryAt("/tsgrpc.test.Echo/NoSuchMethod", {});
    assert.equal(result.status.code, grpc.status.UNIMPLEMENTED);
  });

  // ---- compression ---------------------------------------------------------------------------------

  test("control: without compression a 256 KiB request crosses the wire at full size", T, async () => {
    const { client, proxy } = await viaProxy();
    assertOk(await client.unary({ message: "warm-up" }));
    proxy.reset();
    const result = await client.unary({ message: "plain", payload: new Uint8Array(COMPRESSIBLE) });
    assertOk(result);
    assert.ok(proxy.up > COMPRESSIBLE, `${proxy.up} bytes up`);
    assert.ok(proxy.down > COMPRESSIBLE, `${proxy.down} bytes down`);
  });

  for (const [name, algorithm] of [["gzip", GZIP], ["deflate", DEFLATE]] as const) {
    test(`request compression: grpc-js sends ${name}, the tsgrpc server decompresses`, T, async () => {
      const { client, proxy } = await viaProxy({ "grpc.default_compression_algorithm": algorithm });
      const payload = new Uint8Array(COMPRESSIBLE).fill(7);
      // Unary, client streaming and bidi requests, all compressed.
      const unary = await client.unary({ message: `${name} unary`, payload });
      assertOk(unary);
      assertSameBytes(unary.responses[0]!.payload, payload);
      proxy.reset();
      const streamed = await client.clientStream([{ message: "a", payload }, { message: "b", payload }]);
      assertOk(streamed);
      assert.equal(streamed.responses[0]!.payload.length, 2 * COMPRESSIBLE);
      assert.ok(proxy.up < COMPRESSIBLE / 4, `${proxy.up} bytes up for 2 x ${COMPRESSIBLE} bytes of requests: not compressed`);
      const bidi = await client.bidi([{ message: "x", payload }]);
      assertOk(bidi);
      assertSameBytes(bidi.responses[0]!.payload, payload);
    });
  }

  test("response compression: the tsgrpc server sends gzip, grpc-js decompresses", T, async () => {
    const { client, proxy } = await viaProxy();
    assertOk(await client.unary({ message: "warm-up" }));
    proxy.reset();
    const unary = await client.unary({ message: `zeros:${COMPRESSIBLE}` }, { metadata: { "x-compress-response": "gzip" } });
    assertOk(unary);
    assertSameBytes(unary.responses[0]!.payload, new Uint8Array(COMPRESSIBLE));
    assert.ok(proxy.down < COMPRESSIBLE / 4, `${proxy.down} bytes down for a ${COMPRESSIBLE}-byte response: not compressed`);
    proxy.reset();
    const stream = await client.serverStream({ message: `zeros:${COMPRESSIBLE}`, count: 3 }, { metadata: { "x-compress-response": "gzip" } });
    assertOk(stream);
    assert.equal(stream.responses.length, 3);
    for (const r of stream.responses) assertSameBytes(r.payload, new Uint8Array(COMPRESSIBLE));
    assert.ok(proxy.down < COMPRESSIBLE / 4, `${proxy.down} bytes down for 3 responses: not compressed`);
  });

  test("compression both ways on one call: gzip request and deflate response", T, async () => {
    const { client, proxy } = await viaProxy({ "grpc.default_compression_algorithm": GZIP });
    assertOk(await client.unary({ message: "warm-up" }));
    proxy.reset();
    const payload = new Uint8Array(COMPRESSIBLE);
    const result = await client.bidi([{ message: "both", payload }, { message: "ways", payload }], { metadata: { "x-compress-response": "deflate" } });
    assertOk(result);
    assert.deepEqual(result.responses.map((r) => r.payload.length), [COMPRESSIBLE, COMPRESSIBLE]);
    assert.ok(proxy.up < COMPRESSIBLE / 4, `${proxy.up} bytes up`);
    assert.ok(proxy.down < COMPRESSIBLE / 4, `${proxy.down} bytes down`);
  });

  // ---- large messages --------------------------------------------------------------------------------

  test("large messages: 1 MiB request and response (unary)", T, async () => {
    const payload = randomPayload(MiB);
    const result = await js.unary({ message: "big", payload });
    assertOk(result);
    assertSameBytes(result.responses[0]!.payload, payload);
  });

  test("large messages: 4 x 1 MiB server stream, 3 x 1 MiB bidi", T, async () => {
    const payload = randomPayload(MiB);
    const stream = await js.serverStream({ message: "big", count: 4, payload });
    assertOk(stream);
    assert.equal(stream.responses.length, 4);
    for (const r of stream.responses) assertSameBytes(r.payload, payload);
    const bidi = await js.bidi([1, 2, 3].map(() => ({ message: "big", payload })));
    assertOk(bidi);
    assert.equal(bidi.responses.length, 3);
    for (const r of bidi.responses) assertSameBytes(r.payload, payload);
  });

  test("over the 4 MiB default receive limit: request -> RESOURCE_EXHAUSTED from the server", T, async () => {
    const result = await js.unary({ message: "too big", payload: new Uint8Array(5 * MiB) });
    assert.equal(result.status.code, grpc.status.RESOURCE_EXHAUSTED, result.status.details);
  });

  test("over the 4 MiB default receive limit: response -> RESOURCE_EXHAUSTED at the client", T, async () => {
    const result = await js.unary({ message: `zeros:${5 * MiB}` });
    assert.equal(result.status.code, grpc.status.RESOURCE_EXHAUSTED, result.status.details);
  });

  // ---- concurrency ---------------------------------------------------------------------------------

  test("many concurrent calls on one channel (one connection)", T, async () => {
    const { client, proxy } = await viaProxy();
    const unary = Array.from({ length: 200 }, (_, i) => client.unary({ message: `u${i}`, delayMs: i % 7 }));
    const streams = Array.from({ length: 20 }, (_, i) => client.serverStream({ message: `s${i}`, count: 10, delayMs: 1 }));
    const bidis = Array.from({ length: 20 }, (_, i) => client.bidi([0, 1, 2].map((j) => ({ message: `b${i}.${j}` }))));
    const [u, s, b] = await Promise.all([Promise.all(unary), Promise.all(streams), Promise.all(bidis)]);
    assert.equal(proxy.connections, 1, "all calls multiplexed on one HTTP/2 connection");
    u.forEach((r, i) => {
      assertOk(r);
      assert.equal(r.responses[0]!.message, `u${i}`);
    });
    s.forEach((r, i) => {
      assertOk(r);
      assert.deepEqual(r.responses.map((x) => `${x.message}#${x.index}`), Array.from({ length: 10 }, (_, j) => `s${i}#${j}`));
    });
    b.forEach((r, i) => {
      assertOk(r);
      assert.deepEqual(r.responses.map((x) => x.message), [0, 1, 2].map((j) => `b${i}.${j}`));
    });
  });

  test("requests written with backpressure: 48 x 64 KiB client stream", T, async () => {
    const pending = js.clientStream(undefined);
    const payload = randomPayload(64 * 1024);
    await writeAll(pending.call, Array.from({ length: 48 }, (_, i) => ({ message: String(i), payload })));
    const result = await pending;
    assertOk(result);
    assert.equal(result.responses[0]!.index, 48);
    assert.equal(result.responses[0]!.payload.length, 48 * 64 * 1024);
  });
});
