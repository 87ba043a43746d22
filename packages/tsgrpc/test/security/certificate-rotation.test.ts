import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import * as tls from "node:tls";
import {
  ChannelCredentials,
  Code,
  ServerCredentials,
  type CertificateConfigFetcher,
  type ServerCertificateConfig,
} from "../../src/index.js";
import type { Pem } from "../helpers/certs.js";
import { rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoClient, inspectingServer, useSecurityCerts, type SecurityCerts } from "../helpers/security-fixtures.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const certsFor = useSecurityCerts();

function config(pem: Pem, clientCa?: Pem): ServerCertificateConfig {
  return { keyCertPairs: [{ privateKey: pem.key, certChain: pem.cert }], ...(clientCa ? { rootCerts: clientCa.cert } : {}) };
}

/** A second server certificate, from the other CA, with a CN to tell it apart. */
function rotatedServerCert(c: SecurityCerts): Promise<Pem> {
  return c.factory.leaf(c.otherCa, { commonName: "rotated", altNames: ["DNS:localhost", "IP:127.0.0.1"] });
}

/** The CN of the certificate a raw TLS connection to `port` is served (no SNI unless `servername`). */
async function servedCommonName(t: TestContext, port: number, servername?: string): Promise<string> {
  const socket = tls.connect({ host: "127.0.0.1", port, ALPNProtocols: ["h2"], rejectUnauthorized: false, ...(servername ? { servername } : {}) });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  const cn = socket.getPeerCertificate().subject.CN;
  socket.destroy();
  return Array.isArray(cn) ? cn.join(",") : String(cn);
}

test("rotation: a new connection gets the fetched certificate while an older connection keeps working", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const rotated = await rotatedServerCert(c);
  let next: ServerCertificateConfig | undefined;
  let fetches = 0;
  const fetcher: CertificateConfigFetcher = () => {
    fetches++;
    return next;
  };
  const { port, last } = await inspectingServer(t, ServerCredentials.dynamicTls(fetcher, { initialConfig: config(c.server) }));

  // Before any rotation: the initial certificate.
  const { client: early } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  assert.equal((await early.unary({ message: "1" })).message, "1");
  const earlyPeer = last().peer;
  assert.equal(fetches, 1, "asked once, for the one connection");

  next = config(rotated);
  // A new connection, without SNI (an IP target), is served the new certificate...
  assert.equal(await servedCommonName(t, port), "rotated");
  const { client: late } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.otherCa.cert }));
  assert.equal((await late.unary({ message: "2" })).message, "2");
  // ... also with SNI ...
  assert.equal(await servedCommonName(t, port, "localhost"), "rotated");
  // ... so a client that trusts only the old CA cannot connect any more,
  const { client: stale } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  await rejectsWith(stale.unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE, /certificate/i);
  // while the connection made before the rotation goes on working, on the same connection.
  assert.equal((await early.unary({ message: "3" })).message, "3");
  assert.equal(last().peer, earlyPeer);
  assert.ok(fetches >= 5, `asked before each new connection (${fetches})`);
});

test("rotation: an async fetcher works; a throwing one or unusable PEM keeps the current certificate", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const rotated = await rotatedServerCert(c);
  let mode: "keep" | "throw" | "garbage" | "rotate" = "keep";
  const fetcher: CertificateConfigFetcher = async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (mode === "throw") throw new Error("vault unreachable");
    if (mode === "garbage") return { keyCertPairs: [{ privateKey: "not a key", certChain: "not a cert" }] };
    if (mode === "rotate") return config(rotated);
    return undefined;
  };
  const { port } = await inspectingServer(t, ServerCredentials.dynamicTls(fetcher, { initialConfig: config(c.server) }));
  assert.equal(await servedCommonName(t, port), "server");
  mode = "throw";
  assert.equal(await servedCommonName(t, port), "server");
  mode = "garbage";
  assert.equal(await servedCommonName(t, port), "server");
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: c.ca.cert }));
  assert.equal((await client.unary({ message: "still" })).message, "still");
  mode = "rotate";
  assert.equal(await servedCommonName(t, port), "rotated");
  // Fetching nothing new afterwards keeps the rotated one.
  mode = "keep";
  assert.equal(await servedCommonName(t, port), "rotated");
});

test("rotation with mutual TLS: new client roots apply to new connections", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const rotated = await rotatedServerCert(c);
  let current = config(c.server, c.ca);
  const credentials = ServerCredentials.dynamicTls(() => current, { initialConfig: current, requireClientAuth: true });
  const { port, last } = await inspectingServer(t, credentials);
  const client = (rootCa: Pem, pem: Pem) =>
    echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.tls({ rootCerts: rootCa.cert, privateKey: pem.key, certChain: pem.cert })).client;

  const before = client(c.ca, c.client);
  await before.unary({});
  assert.deepEqual(last().authContext.peerIdentities, ["client.test", "spiffe://tsgrpc.test/client"]);
  await rejectsWith(client(c.ca, c.strangerClient).unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);

  // Rotate: new server certificate, and clients are now verified against the other CA.
  current = config(rotated, c.otherCa);
  const stranger = client(c.otherCa, c.strangerClient);
  await stranger.unary({});
  assert.deepEqual(last().authContext.peerIdentities, ["stranger.test"]);
  await rejectsWith(client(c.otherCa, c.client).unary({}, { timeoutMs: 5000 }), Code.UNAVAILABLE);
  // The first client's connection predates the rotation and stays.
  await before.unary({});
  assert.deepEqual(last().authContext.peerIdentities, ["client.test", "spiffe://tsgrpc.test/client"]);
});

test("ServerCredentials.dynamicTls validates its options", () => {
  const pair = { privateKey: "k", certChain: "c" };
  assert.throws(() => ServerCredentials.dynamicTls("x" as never, { initialConfig: { keyCertPairs: [pair] } }), /function/);
  assert.throws(() => ServerCredentials.dynamicTls(() => undefined, { initialConfig: { keyCertPairs: [] } }), /at least one/);
  assert.throws(
    () => ServerCredentials.dynamicTls(() => undefined, { initialConfig: { keyCertPairs: [pair] }, requireClientAuth: true }),
    /rootCerts/,
  );
});
