import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ChannelCredentials, Code, createChannel, createClient, ServerCredentials, type ChannelOptions } from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import type { Pem } from "../helpers/certs.js";
import { rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { useSecurityCerts } from "../helpers/security-fixtures.js";
import { echoImpl, startTestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };

/** Test certificates made with the openssl CLI (helpers/certs.ts); the tests skip without it. */
const needCerts = useSecurityCerts();

async function tlsServer(t: TestContext, pem: Pem, clientCa?: string) {
  const server = await startTestServer((s) => s.addService(Echo, echoImpl), {});
  // The helper binds plaintext; bind a second, TLS, port on the same server.
  const port = await server.server.bind(
    "127.0.0.1:0",
    ServerCredentials.tls({
      keyCertPairs: [{ privateKey: pem.key, certChain: pem.cert }],
      rootCerts: clientCa,
      requireClientAuth: clientCa !== undefined,
    }),
  );
  t.after(() => server.close());
  return { port, plaintextPort: server.port };
}

function clientFor(t: TestContext, target: string, credentials: ChannelCredentials, options: ChannelOptions = {}) {
  const channel = createChannel(target, credentials, { backoff: { initialMs: 100, maxMs: 200 }, ...options });
  t.after(() => channel.close());
  return createClient(Echo, channel);
}

test("TLS: a channel trusting the server's CA works, by IP and by name", T, async (t) => {
  const c = needCerts(t);
  if (!c) return;
  const { port } = await tlsServer(t, c.server);
  for (const target of [`127.0.0.1:${port}`, `localhost:${port}`]) {
    const client = clientFor(t, target, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
    assert.equal((await client.unary({ message: "secure" })).message, "secure");
    // Streaming over TLS as well.
    let n = 0;
    for await (const r of client.serverStream({ count: 3 })) assert.equal(r.index, n++);
    assert.equal(n, 3);
  }
});

test("TLS: a certificate from an untrusted CA fails the call UNAVAILABLE", T, async (t) => {
  const c = needCerts(t);
  if (!c) return;
  const { port } = await tlsServer(t, c.server);
  const client = clientFor(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.otherCa.cert }));
  await rejectsWith(client.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
});

test("TLS: serverNameOverride checks the certificate against another name", T, async (t) => {
  const c = needCerts(t);
  if (!c) return;
  const { port } = await tlsServer(t, c.renamedServer);
  const wrongName = clientFor(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(wrongName.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
  const overridden = clientFor(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }), {
    serverNameOverride: "foo.test.example",
  });
  assert.equal((await overridden.unary({ message: "renamed" })).message, "renamed");
});

test("mutual TLS: without a client certificate the call fails; with one it works", T, async (t) => {
  const c = needCerts(t);
  if (!c) return;
  const { port } = await tlsServer(t, c.server, c.ca.cert);
  const anonymous = clientFor(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(anonymous.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE, /certificate/);
  const authenticated = clientFor(
    t,
    `127.0.0.1:${port}`,
    ChannelCredentials.tls({ rootCerts: c.ca.cert, privateKey: c.client.key, certChain: c.client.cert }),
  );
  assert.equal((await authenticated.unary({ message: "mtls" })).message, "mtls");
});

test("mismatched security: plaintext to a TLS port and TLS to a plaintext port fail UNAVAILABLE, not hang", T, async (t) => {
  const c = needCerts(t);
  if (!c) return;
  const { port, plaintextPort } = await tlsServer(t, c.server);
  const plainToTls = clientFor(t, `127.0.0.1:${port}`, ChannelCredentials.insecure(), { connectTimeoutMs: 2000 });
  await rejectsWith(plainToTls.unary({}, { timeoutMs: 8000 }), Code.UNAVAILABLE);
  const tlsToPlain = clientFor(t, `127.0.0.1:${plaintextPort}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }), { connectTimeoutMs: 2000 });
  await rejectsWith(tlsToPlain.unary({}, { timeoutMs: 8000 }), Code.UNAVAILABLE);
});

test("ChannelCredentials.tls needs both privateKey and certChain, or neither", () => {
  assert.throws(() => ChannelCredentials.tls({ privateKey: "key" }), /both/);
  assert.throws(() => ChannelCredentials.tls({ certChain: "cert" }), /both/);
});
