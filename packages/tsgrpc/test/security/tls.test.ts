import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import * as tls from "node:tls";
import { ChannelCredentials, Code, ServerCredentials } from "../../src/index.js";
import { collect, rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoClient, inspectingServer, serverTls, useSecurityCerts } from "../helpers/security-fixtures.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const certsFor = useSecurityCerts();

test("TLS: unary and streaming calls work by IP and by name, and the server sees an ssl connection", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, last } = await inspectingServer(t, serverTls(c.server));
  for (const target of [`127.0.0.1:${port}`, `localhost:${port}`]) {
    const { client } = echoClient(t, target, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
    assert.equal((await client.unary({ message: "secure" })).message, "secure");
    const responses = await collect(client.serverStream({ message: "s", count: 3 }));
    assert.deepEqual(responses.map((r) => r.index), [0, 1, 2]);
    const auth = last().authContext;
    assert.equal(auth.transportSecurityType, "ssl");
    // Server-only TLS: the client is not authenticated.
    assert.deepEqual(auth.peerIdentities, []);
    assert.equal(auth.peerIdentityKey, undefined);
    assert.deepEqual(auth.properties["transport_security_type"], ["ssl"]);
    assert.deepEqual(auth.properties["security_level"], ["TSI_PRIVACY_AND_INTEGRITY"]);
    assert.equal(auth.properties["x509_common_name"], undefined);
  }
});

test("TLS over IPv6 loopback", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  let bound;
  try {
    bound = await inspectingServer(t, serverTls(c.server), "[::1]:0");
  } catch {
    t.skip("no IPv6 loopback here");
    return;
  }
  const { client } = echoClient(t, `[::1]:${bound.port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  assert.equal((await client.unary({ message: "v6" })).message, "v6");
});

test("TLS: a server certificate from a CA the client does not trust is refused (UNAVAILABLE)", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, contexts } = await inspectingServer(t, serverTls(c.server));
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.otherCa.cert }));
  await rejectsWith(client.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE, /certificate/i);
  // Without rootCerts the system's CAs are used, and they do not know our test CA either.
  const { client: systemRoots } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls());
  await rejectsWith(systemRoots.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE, /certificate/i);
  assert.equal(contexts.length, 0);
});

test("TLS without rootCerts: the file named by GRPC_DEFAULT_SSL_ROOTS_FILE_PATH replaces the system roots", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port } = await inspectingServer(t, serverTls(c.server));
  const file = join(c.factory.dir, "default-roots.pem");
  writeFileSync(file, c.ca.cert);
  const previous = process.env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"];
  process.env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = file;
  t.after(() => {
    if (previous === undefined) delete process.env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"];
    else process.env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = previous;
  });
  const { client } = echoClient(t, `localhost:${port}`, ChannelCredentials.tls());
  assert.equal((await client.unary({ message: "default roots" })).message, "default roots");
});

test("TLS: a wrong server name is refused; serverNameOverride names the expected one", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port } = await inspectingServer(t, serverTls(c.renamedServer));
  const { client: byIp } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(byIp.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE, /foo\.test\.example|altnames|IP/i);
  const { client: byName } = echoClient(t, `localhost:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(byName.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
  const { client: overridden } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }), {
    serverNameOverride: "foo.test.example",
  });
  assert.equal((await overridden.unary({ message: "renamed" })).message, "renamed");
  // An override that the certificate does not carry fails too.
  const { client: wrongOverride } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }), {
    serverNameOverride: "bar.test.example",
  });
  await rejectsWith(wrongOverride.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
});

test("ALPN: a TLS server that does not speak h2 is refused at once, not after a timeout", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  for (const alpn of [undefined, ["http/1.1"]]) {
    const sockets = new Set<tls.TLSSocket>();
    const server = tls.createServer({ key: c.server.key, cert: c.server.cert, ...(alpn ? { ALPNProtocols: alpn } : {}) }, (socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    });
    server.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }));
    const port = (server.address() as AddressInfo).port;
    const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }), { connectTimeoutMs: 10_000 });
    const started = Date.now();
    await rejectsWith(client.unary({}, { timeoutMs: 8000 }), Code.UNAVAILABLE, /ALPN|h2|protocol/i);
    assert.ok(Date.now() - started < 3000, `refusal took ${Date.now() - started} ms`);
  }
});

test("ALPN: the server closes a TLS connection that does not offer h2", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, contexts } = await inspectingServer(t, serverTls(c.server));
  for (const offer of [["http/1.1"], undefined]) {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: c.ca.cert, ...(offer ? { ALPNProtocols: offer } : {}) });
    t.after(() => socket.destroy());
    socket.on("error", () => undefined);
    socket.resume(); // read what the server says (a 403 text, for a client without ALPN) and its end
    const started = Date.now();
    await new Promise((resolve) => socket.once("close", resolve));
    assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`);
    assert.notEqual(socket.alpnProtocol, "h2");
  }
  assert.equal(contexts.length, 0);
});

test("TLS: plaintext to a TLS port and TLS to a plaintext port fail UNAVAILABLE", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port } = await inspectingServer(t, serverTls(c.server));
  const { client: plain } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.insecure(), { connectTimeoutMs: 2000 });
  await rejectsWith(plain.unary({}, { timeoutMs: 8000 }), Code.UNAVAILABLE);
  const { port: plainPort } = await inspectingServer(t, ServerCredentials.insecure());
  const { client: secure } = echoClient(t, `127.0.0.1:${plainPort}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }), { connectTimeoutMs: 2000 });
  await rejectsWith(secure.unary({}, { timeoutMs: 8000 }), Code.UNAVAILABLE);
});

test("TLS: with several key/certificate pairs, the client's SNI picks one; without SNI the first is served", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const credentials = ServerCredentials.tls({
    keyCertPairs: [
      { privateKey: c.renamedServer.key, certChain: c.renamedServer.cert },
      { privateKey: c.server.key, certChain: c.server.cert },
    ],
  });
  const { port } = await inspectingServer(t, credentials);
  const roots = ChannelCredentials.tls({ rootCerts: c.ca.cert });
  // SNI "localhost": the second pair, whose certificate names localhost.
  const { client: byName } = echoClient(t, `localhost:${port}`, roots);
  assert.equal((await byName.unary({ message: "second" })).message, "second");
  // SNI "foo.test.example": the first pair.
  const { client: renamed } = echoClient(t, `127.0.0.1:${port}`, roots, { serverNameOverride: "foo.test.example" });
  assert.equal((await renamed.unary({ message: "first" })).message, "first");
  // No SNI (an IP target): the first pair, which does not cover 127.0.0.1.
  const { client: byIp } = echoClient(t, `127.0.0.1:${port}`, roots);
  await rejectsWith(byIp.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
});

test("ServerCredentials.tls validates its options", () => {
  assert.throws(() => ServerCredentials.tls({ keyCertPairs: [] }), /at least one/);
  assert.throws(() => ServerCredentials.tls({ keyCertPairs: [{ privateKey: "", certChain: "x" }] }), /privateKey and certChain/);
  assert.throws(
    () => ServerCredentials.tls({ keyCertPairs: [{ privateKey: "k", certChain: "c" }], requireClientAuth: true }),
    /rootCerts/,
  );
  assert.throws(() => ChannelCredentials.tls({ privateKey: "key" }), /both/);
});
