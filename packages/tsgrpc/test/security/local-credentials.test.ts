import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CallCredentials, ChannelCredentials, Code, ServerCredentials } from "../../src/index.js";
import { isLocalPeer, isLoopbackAddress } from "../../src/transport/http2/peer-security.js";
import { rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoClient, inspectingServer } from "../helpers/security-fixtures.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };

test("local credentials over loopback TCP: calls work, call credentials may be sent, the server sees 'local'", T, async (t) => {
  const { port, last } = await inspectingServer(t, ServerCredentials.local());
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.local());
  const reply = await client.unary({ message: "local" }, { credentials: CallCredentials.accessToken("local-token") });
  assert.equal(reply.message, "local");
  assert.deepEqual(last().metadata.getAll("authorization"), ["Bearer local-token"]);
  const auth = last().authContext;
  assert.equal(auth.transportSecurityType, "local");
  assert.equal(auth.peerIdentityKey, undefined);
  assert.deepEqual(auth.peerIdentities, []);
  assert.deepEqual(auth.properties["security_level"], ["TSI_PRIVACY_AND_INTEGRITY"]);
});

test("local credentials over a unix socket, with call credentials composed into the channel", T, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tsgrpc-local-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "grpc.sock");
  const { last } = await inspectingServer(t, ServerCredentials.local(), `unix:${path}`);
  const credentials = ChannelCredentials.compose(
    ChannelCredentials.local(),
    CallCredentials.fromMetadataPlugin(({ serviceUrl }) => ({ "x-service-url": serviceUrl })),
  );
  const { client } = echoClient(t, `unix:${path}`, credentials);
  assert.equal((await client.unary({ message: "uds" })).message, "uds");
  assert.equal(last().metadata.get("x-service-url"), "http://localhost/tsgrpc.test.Echo");
  assert.equal(last().authContext.transportSecurityType, "local");
});

test("a local channel speaks plaintext HTTP/2: it reaches an insecure server on loopback", T, async (t) => {
  const { port } = await inspectingServer(t, ServerCredentials.insecure());
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.local());
  assert.equal((await client.unary({ message: "plain" })).message, "plain");
});

test("what counts as local: loopback addresses and unix sockets only", () => {
  for (const address of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) assert.equal(isLoopbackAddress(address), true, address);
  for (const address of ["10.0.0.1", "192.168.1.1", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0", "::"]) {
    assert.equal(isLoopbackAddress(address), false, address);
  }
  const socket = (remoteAddress: string | undefined) => ({ remoteAddress }) as net.Socket;
  assert.equal(isLocalPeer(socket("127.0.0.1"), false), true);
  assert.equal(isLocalPeer(socket("203.0.113.9"), false), false);
  // A TCP socket whose peer is unknown (already closed) is not trusted.
  assert.equal(isLocalPeer(socket(undefined), false), false);
  assert.equal(isLocalPeer(socket(undefined), true), true);
});

test("local credentials over IPv6 loopback", T, async (t) => {
  let server;
  try {
    server = await inspectingServer(t, ServerCredentials.local(), "[::1]:0");
  } catch {
    t.skip("no IPv6 loopback here");
    return;
  }
  const { client } = echoClient(t, `[::1]:${server.port}`, ChannelCredentials.local());
  await client.unary({});
  assert.equal(server.last().authContext.transportSecurityType, "local");
  // Insecure credentials on the same server work too (the server cannot tell them apart), but such a
  // channel still refuses to send call credentials.
  const { client: insecure } = echoClient(t, `[::1]:${server.port}`, ChannelCredentials.insecure());
  await rejectsWith(insecure.unary({}, { credentials: CallCredentials.accessToken("x") }), Code.UNAUTHENTICATED);
});
