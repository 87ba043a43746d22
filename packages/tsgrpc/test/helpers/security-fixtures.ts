import { after, before, type TestContext } from "node:test";
import {
  ChannelCredentials,
  createChannel,
  createClient,
  createServer,
  ServerCredentials,
  type Channel,
  type ChannelOptions,
  type Server,
  type ServerContext,
  type ServerOptions,
} from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { makeCertFactory, opensslMissing, type CertFactory, type CertificateAuthority, type Pem } from "./certs.js";
import { echoImpl } from "./test-server.js";

/** The certificates most security tests need, made once per test file. */
export interface SecurityCerts {
  factory: CertFactory;
  ca: CertificateAuthority;
  otherCa: CertificateAuthority;
  /** Signed by `ca` for localhost, 127.0.0.1 and ::1. */
  server: Pem;
  /** Signed by `ca` for foo.test.example only. */
  renamedServer: Pem;
  /** Signed by `ca`: CN=client, SANs DNS:client.test and URI:spiffe://tsgrpc.test/client. */
  client: Pem;
  /** Signed by `ca`: CN=cn-only-client and no SAN. */
  cnOnlyClient: Pem;
  /** Signed by `otherCa`: CN=stranger. */
  strangerClient: Pem;
}

/**
 * Registers before/after hooks that make the certificates (or note that openssl is missing) and returns
 * a getter: call it at the start of a test; it skips the test when there are no certificates.
 */
export function useSecurityCerts(): (t: TestContext) => SecurityCerts | undefined {
  let certs: SecurityCerts | undefined;
  const missing = opensslMissing();
  before(async () => {
    if (missing) return;
    const factory = await makeCertFactory();
    const ca = await factory.ca("tsgrpc test CA");
    const otherCa = await factory.ca("another CA");
    certs = {
      factory,
      ca,
      otherCa,
      server: await factory.leaf(ca, { commonName: "server", altNames: ["DNS:localhost", "IP:127.0.0.1", "IP:::1"] }),
      renamedServer: await factory.leaf(ca, { commonName: "renamed", altNames: ["DNS:foo.test.example"] }),
      client: await factory.leaf(ca, {
        commonName: "client",
        subjectPrefix: "/O=tsgrpc tests",
        altNames: ["DNS:client.test", "URI:spiffe://tsgrpc.test/client"],
        usage: "clientAuth",
      }),
      cnOnlyClient: await factory.leaf(ca, { commonName: "cn-only-client", usage: "clientAuth" }),
      strangerClient: await factory.leaf(otherCa, { commonName: "stranger", altNames: ["DNS:stranger.test"], usage: "clientAuth" }),
    };
  });
  after(() => certs?.factory.cleanup());
  return (t) => {
    if (!certs) t.skip(missing ?? "no certificates");
    return certs;
  };
}

export interface InspectingServer {
  server: Server;
  port: number;
  /** The ServerContext of every unary call so far, oldest first. */
  contexts: ServerContext[];
  last(): ServerContext;
}

/**
 * A server with the Echo service bound on 127.0.0.1:0 with `credentials`, whose unary handler records its
 * context. Force-shut down after the test.
 */
export async function inspectingServer(
  t: TestContext,
  credentials: ServerCredentials,
  address = "127.0.0.1:0",
  options: ServerOptions = {},
): Promise<InspectingServer> {
  const contexts: ServerContext[] = [];
  const server = createServer(options);
  server.addService(Echo, {
    ...echoImpl,
    unary(request, ctx) {
      contexts.push(ctx);
      return { message: request.message };
    },
  });
  const port = await server.bind(address, credentials);
  t.after(() => server.forceShutdown());
  return {
    server,
    port,
    contexts,
    last: () => {
      const ctx = contexts.at(-1);
      if (!ctx) throw new Error("no call reached the server");
      return ctx;
    },
  };
}

/** A TLS server with `pem`; `clientCa` turns on mutual TLS (required unless `optionalClientAuth`). */
export function serverTls(pem: Pem, clientCa?: Pem, optionalClientAuth = false): ServerCredentials {
  return ServerCredentials.tls({
    keyCertPairs: [{ privateKey: pem.key, certChain: pem.cert }],
    rootCerts: clientCa?.cert,
    requireClientAuth: clientCa !== undefined && !optionalClientAuth,
  });
}

/** A typed Echo client on a new channel, both closed after the test. Short backoff so failures are quick. */
export function echoClient(t: TestContext, target: string, credentials: ChannelCredentials, options: ChannelOptions = {}) {
  const channel: Channel = createChannel(target, credentials, { backoff: { initialMs: 100, maxMs: 200 }, ...options });
  t.after(() => channel.close());
  return { channel, client: createClient(Echo, channel) };
}
