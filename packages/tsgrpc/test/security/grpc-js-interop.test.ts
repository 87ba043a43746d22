import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  CallCredentials,
  ChannelCredentials,
  createChannel,
  createClient,
  ServerCredentials,
  type ServerCertificateConfig,
} from "../../src/index.js";
import { Echo, EchoResponseSchema, type EchoRequest, type EchoResponse } from "../gen/echo_pb.js";
import type { Pem } from "../helpers/certs.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { inspectingServer, serverTls, useSecurityCerts } from "../helpers/security-fixtures.js";
import { deserializeResponse, ECHO_PATHS, echoServiceDefinition, serializeRequest } from "../interop-grpc-js/peers/grpc-js-codec.js";

/** Security features against @grpc/grpc-js (in this process): TLS, mutual TLS, call credentials, rotation. */

failOnLeakedHandles();

const T = { timeout: 30_000 };
const certsFor = useSecurityCerts();

/** A grpc-js client for 127.0.0.1:port, closed after the test; one connection of its own. */
function jsClient(t: TestContext, port: number, credentials: grpc.ChannelCredentials): grpc.Client {
  const client = new grpc.Client(`127.0.0.1:${port}`, credentials, { "grpc.use_local_subchannel_pool": 1 });
  t.after(() => client.close());
  return client;
}

function jsUnary(client: grpc.Client, message: string): Promise<EchoResponse> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO_PATHS.unary,
      serializeRequest,
      deserializeResponse,
      { message },
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, value) => (err ? reject(err) : resolve(value!)),
    );
  });
}

function jsMutualTls(c: { ca: Pem }, pem: Pem): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(c.ca.cert), Buffer.from(pem.key), Buffer.from(pem.cert));
}

test("grpc-js client with mutual TLS and call credentials → tsgrpc server: identity and metadata arrive", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const { port, last } = await inspectingServer(t, serverTls(c.server, c.ca));
  let serviceUrl = "";
  const callCreds = grpc.credentials.createFromMetadataGenerator((params, callback) => {
    serviceUrl = params.service_url;
    const md = new grpc.Metadata();
    md.set("authorization", "Bearer from-grpc-js");
    callback(null, md);
  });
  const client = jsClient(t, port, grpc.credentials.combineChannelCredentials(jsMutualTls(c, c.client), callCreds));
  assert.equal((await jsUnary(client, "hello")).message, "hello");
  const ctx = last();
  assert.equal(ctx.metadata.get("authorization"), "Bearer from-grpc-js");
  assert.equal(ctx.authContext.transportSecurityType, "ssl");
  assert.deepEqual(ctx.authContext.peerIdentities, ["client.test", "spiffe://tsgrpc.test/client"]);
  // grpc-js leaves the port out of service_url (gRPC core, and tsgrpc, keep any port but 443).
  assert.match(serviceUrl, /^https:\/\/127\.0\.0\.1(:\d+)?\/tsgrpc\.test\.Echo$/);
  // Without a client certificate grpc-js cannot connect.
  const anonymous = jsClient(t, port, grpc.credentials.createSsl(Buffer.from(c.ca.cert)));
  await assert.rejects(jsUnary(anonymous, "x"), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
});

test("tsgrpc client with mutual TLS and an access token → grpc-js server: the server sees both", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const server = new grpc.Server();
  t.after(() => server.forceShutdown());
  server.addService(echoServiceDefinition, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>, callback: grpc.sendUnaryData<EchoResponse>) {
      const cert = call.getAuthContext().sslPeerCertificate;
      const seen = { authorization: call.metadata.get("authorization"), cn: cert?.subject?.CN, security: call.getAuthContext().transportSecurityType };
      callback(null, create(EchoResponseSchema, { message: JSON.stringify(seen) }));
    },
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createSsl(Buffer.from(c.ca.cert), [{ private_key: Buffer.from(c.server.key), cert_chain: Buffer.from(c.server.cert) }], true),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  const channel = createChannel(
    `localhost:${port}`,
    ChannelCredentials.compose(
      ChannelCredentials.tls({ rootCerts: c.ca.cert, privateKey: c.client.key, certChain: c.client.cert }),
      CallCredentials.accessToken("from-tsgrpc"),
    ),
  );
  t.after(() => channel.close());
  const reply = await createClient(Echo, channel).unary({ message: "x" });
  assert.deepEqual(JSON.parse(reply.message), { authorization: ["Bearer from-tsgrpc"], cn: "client", security: "ssl" });
});

test("certificate rotation seen by grpc-js clients: new connections get the new certificate, old ones keep working", T, async (t) => {
  const c = certsFor(t);
  if (!c) return;
  const rotated = await c.factory.leaf(c.otherCa, { commonName: "rotated", altNames: ["DNS:localhost", "IP:127.0.0.1"] });
  const initial: ServerCertificateConfig = { keyCertPairs: [{ privateKey: c.server.key, certChain: c.server.cert }] };
  let current = initial;
  const { port } = await inspectingServer(t, ServerCredentials.dynamicTls(() => current, { initialConfig: initial }));
  const before = jsClient(t, port, grpc.credentials.createSsl(Buffer.from(c.ca.cert)));
  assert.equal((await jsUnary(before, "1")).message, "1");
  current = { keyCertPairs: [{ privateKey: rotated.key, certChain: rotated.cert }] };
  const after = jsClient(t, port, grpc.credentials.createSsl(Buffer.from(c.otherCa.cert)));
  assert.equal((await jsUnary(after, "2")).message, "2");
  const stale = jsClient(t, port, grpc.credentials.createSsl(Buffer.from(c.ca.cert)));
  await assert.rejects(jsUnary(stale, "3"), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
  assert.equal((await jsUnary(before, "4")).message, "4");
});
