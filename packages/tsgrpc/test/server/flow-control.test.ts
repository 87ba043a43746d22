import assert from "node:assert/strict";
import { test } from "node:test";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { RawHttp2Client } from "../helpers/raw-http2-client.js";
import {
  CLIENT_STREAM,
  decodeResponse,
  deferred,
  encodeRequest,
  SERVER_STREAM,
  sleep,
  startTestServer,
  until,
} from "../helpers/test-server.js";

failOnLeakedHandles();

const MESSAGES = 200;
const SIZE = 64 * 1024;

test("server streaming: a client that does not read holds the handler back; reading lets it finish", { timeout: 20_000 }, async (t) => {
  let produced = 0;
  const payload = new Uint8Array(SIZE).fill(7);
  const { port, close } = await startTestServer((s) =>
    s.addService(Echo, {
      async *serverStream() {
        for (let index = 0; index < MESSAGES; index++) {
          produced++;
          yield { index, payload };
        }
      },
    }),
  );
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const call = client.start(SERVER_STREAM);
  call.pause();
  call.send(encodeRequest());
  call.end();
  await until(() => produced > 0, 5000, "the handler to start");
  await sleep(300);
  const heldAt = produced;
  await sleep(200);
  // Our window is 64 KiB, so only a few 64 KiB messages can be on their way; the rest must wait.
  assert.equal(produced, heldAt, "the handler is not pulled while the client reads nothing");
  assert.ok(heldAt < 10, `the handler produced ${heldAt} of ${MESSAGES} messages with nobody reading`);

  call.resume();
  const response = await call.response;
  assert.equal(response.grpcStatus, 0, response.grpcMessage);
  assert.equal(produced, MESSAGES);
  assert.equal(response.messages.length, MESSAGES);
  assert.deepEqual(
    response.messages.map((m) => decodeResponse(m.payload).index),
    Array.from({ length: MESSAGES }, (_, i) => i),
  );
  assert.ok(response.messages.every((m) => m.payload.length > SIZE));
});

test("client streaming: a handler that does not read stops the client's uploads at the flow-control window", { timeout: 20_000 }, async (t) => {
  const startReading = deferred();
  const started = deferred();
  const { port, close } = await startTestServer((s) =>
    s.addService(Echo, {
      async clientStream(requests) {
        started.resolve();
        await startReading.promise;
        let count = 0;
        let bytes = 0;
        for await (const request of requests) {
          count++;
          bytes += request.payload.length;
        }
        return { index: count, message: String(bytes) };
      },
    }),
  );
  const client = await RawHttp2Client.connect(port);
  t.after(async () => {
    await client.close();
    await close();
  });
  const call = client.start(CLIENT_STREAM);
  const message = encodeRequest({ payload: new Uint8Array(SIZE) });
  for (let i = 0; i < MESSAGES; i++) call.send(message);
  call.end();
  await started.promise;
  await sleep(300);
  const total = MESSAGES * (message.length + 5);
  // Requests still queued in our stream: the server advertises a 1 MiB stream window and, with nobody
  // reading, stops acknowledging once its small queue is full, so nearly all 12.5 MiB must still wait
  // here. A server that swallowed everything would have let the whole upload through by now.
  const unsent = call.stream.writableLength;
  assert.ok(unsent > total - 4 * 1024 * 1024, `only ${unsent} of ${total} bytes still wait to be sent`);

  startReading.resolve();
  const response = await call.response;
  assert.equal(response.grpcStatus, 0, response.grpcMessage);
  const result = decodeResponse(response.messages[0]!.payload);
  assert.equal(result.index, MESSAGES);
  assert.equal(result.message, String(MESSAGES * SIZE));
});
