import assert from "node:assert/strict";
import { test } from "node:test";
import { ChannelCredentials, Code, RpcError, ServerCredentials, type ServerInterceptor } from "../../src/index.js";
import { rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoClient, inspectingServer, serverTls, useSecurityCerts, type SecurityCerts } from "../helpers/security-fixtures.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const certsFor = useSecurityCerts();

function withClientCert(c: SecurityCerts, pem: { key: string; cert: string }): ChannelCredentials {
  return ChannelCredentials.tls({ rootCerts: c.ca.cert, privateKey: pem.key, certChain: pem.cert });
}

test("mutual TLS: a client certificate from the trusted CA is accepted, and the auth context names the client", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, last } = await inspectingServer(t, serverTls(c.server, c.ca));
  const { client } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.client));
  assert.equal((await client.unary({ message: "mtls" })).message, "mtls");
  const auth = last().authContext;
  assert.equal(auth.transportSecurityType, "ssl");
  // With SANs, the SANs are the identity (as in gRPC core).
  assert.equal(auth.peerIdentityKey, "x509_subject_alternative_name");
  assert.deepEqual(auth.peerIdentities, ["client.test", "spiffe://tsgrpc.test/client"]);
  const p = auth.properties;
  assert.deepEqual(p["transport_security_type"], ["ssl"]);
  assert.deepEqual(p["x509_common_name"], ["client"]);
  assert.deepEqual(p["x509_subject_alternative_name"], ["client.test", "spiffe://tsgrpc.test/client"]);
  assert.deepEqual(p["peer_dns"], ["client.test"]);
  assert.deepEqual(p["peer_uri"], ["spiffe://tsgrpc.test/client"]);
  assert.deepEqual(p["peer_spiffe_id"], ["spiffe://tsgrpc.test/client"]);
  assert.deepEqual(p["x509_subject"], ["CN=client,O=tsgrpc tests"]);
  assert.deepEqual(p["ssl_session_reused"], ["false"]);
  assert.match(p["x509_pem_cert"]![0]!, /^-----BEGIN CERTIFICATE-----/);
  assert.equal(p["x509_pem_cert"]![0]!.trim(), c.client.cert.trim());
  // The same object for every call of the connection, and read-only.
  assert.equal(last().authContext, auth);
  assert.ok(Object.isFrozen(auth) && Object.isFrozen(auth.properties) && Object.isFrozen(auth.peerIdentities));
});

test("mutual TLS: a certificate without SANs is identified by its common name", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, last } = await inspectingServer(t, serverTls(c.server, c.ca));
  const { client } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.cnOnlyClient));
  await client.unary({});
  const auth = last().authContext;
  assert.equal(auth.peerIdentityKey, "x509_common_name");
  assert.deepEqual(auth.peerIdentities, ["cn-only-client"]);
  assert.equal(auth.properties["x509_subject_alternative_name"], undefined);
});

test("mutual TLS: refused without a client certificate", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, contexts } = await inspectingServer(t, serverTls(c.server, c.ca));
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(client.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE, /certificate/i);
  assert.equal(contexts.length, 0);
});

test("mutual TLS: refused with a client certificate from another CA", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, contexts } = await inspectingServer(t, serverTls(c.server, c.ca));
  const { client } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.strangerClient));
  // TLS 1.3: the client finishes its handshake before the server judges its certificate, so the refusal
  // shows as the connection closing before the server's HTTP/2 SETTINGS: UNAVAILABLE all the same.
  await rejectsWith(client.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
  assert.equal(contexts.length, 0);
});

test("optional client auth (rootCerts without requireClientAuth): anonymous clients are served unauthenticated", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, last } = await inspectingServer(t, serverTls(c.server, c.ca, true));
  const { client: anonymous } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await anonymous.unary({});
  assert.equal(last().authContext.peerIdentityKey, undefined);
  assert.deepEqual(last().authContext.peerIdentities, []);
  // A certificate that does not verify is not refused here, but it identifies nobody.
  const { client: stranger } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.strangerClient));
  await stranger.unary({});
  assert.equal(last().authContext.peerIdentityKey, undefined);
  assert.equal(last().authContext.properties["x509_common_name"], undefined);
  // A good one is identified.
  const { client: known } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.client));
  await known.unary({});
  assert.deepEqual(last().authContext.peerIdentities, ["client.test", "spiffe://tsgrpc.test/client"]);
});

test("plaintext: the auth context says insecure and has no identity", T, async (t) => {
  const { port, last } = await inspectingServer(t, ServerCredentials.insecure());
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.insecure());
  await client.unary({});
  const auth = last().authContext;
  assert.equal(auth.transportSecurityType, "insecure");
  assert.equal(auth.peerIdentityKey, undefined);
  assert.deepEqual(auth.properties, { transport_security_type: ["insecure"], security_level: ["TSI_SECURITY_NONE"] });
});

test("a server interceptor sees the auth context and can refuse calls by client identity", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const onlyTheClient: ServerInterceptor = (next) => async (call) => {
    if (!call.context.authContext.peerIdentities.includes("spiffe://tsgrpc.test/client")) {
      throw new RpcError(Code.PERMISSION_DENIED, `not allowed: ${call.context.authContext.peerIdentities.join(", ") || "anonymous"}`);
    }
    return next(call);
  };
  const { port, contexts } = await inspectingServer(t, serverTls(c.server, c.ca, true), "127.0.0.1:0", { interceptors: [onlyTheClient] });
  const { client: anonymous } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(anonymous.unary({}), Code.PERMISSION_DENIED, /anonymous/);
  const { client: other } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.cnOnlyClient));
  await rejectsWith(other.unary({}), Code.PERMISSION_DENIED, /cn-only-client/);
  const { client: allowed } = echoClient(t, `127.0.0.1:${port}`, withClientCert(c, c.client));
  assert.equal((await allowed.unary({ message: "in" })).message, "in");
  assert.equal(contexts.length, 1);
});
