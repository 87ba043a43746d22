import assert from "node:assert/strict";
import { RawHttp2Client } from "./raw-http2-client.js";
import { decodeResponse, encodeRequest, UNARY } from "./test-server.js";

/** A normal unary call on a new connection succeeds within a second (the server is unharmed). */
export async function assertServesNewConnection(port: number, label: string): Promise<void> {
  const started = Date.now();
  const client = await RawHttp2Client.connect(port);
  try {
    const response = await client.call(UNARY, { messages: [encodeRequest({ message: "alive" })] });
    assert.equal(response.grpcStatus, 0, `${label}: a good call afterwards (${response.grpcMessage})`);
    assert.equal(decodeResponse(response.messages[0]!.payload).message, "alive");
  } finally {
    await client.close();
  }
  assert.ok(Date.now() - started < 1000, `${label}: served within a second`);
}
