import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Code, createChannel, createClient, registerResolver, unaryUnary } from "tsgrpc";
import { registeredSchemes } from "../../src/client/resolver.js";
import { parseTarget, splitHostPort } from "../../src/client/target.js";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, freePort, rawServer, rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl, startTestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/** An Echo server on `address` that records each call's peer; shut down after the test. */
async function echoOn(t: TestContext, address: string) {
  const peers: string[] = [];
  const server = await startTestServer(
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: (r, ctx) => {
          peers.push(ctx.peer);
          return { message: r.message };
        },
      }),
    { address },
  );
  t.after(() => server.close());
  return { ...server, peers };
}

async function roundTrip(t: TestContext, target: string): Promise<string> {
  const client = createClient(Echo, channelFor(t, target));
  return (await client.unary({ message: target }, { timeoutMs: 5000 })).message;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "tsgrpc-client-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(0, "::1", () => server.close(() => resolve(true)));
  });
}

// ---- parsing ----------------------------------------------------------------------------------------

test("parseTarget: every documented form", () => {
  const schemes = registeredSchemes();
  const parse = (text: string) => {
    const { scheme, authority, endpoint } = parseTarget(text, schemes);
    return { scheme, authority, endpoint };
  };
  assert.deepEqual(parse("localhost:50051"), { scheme: "dns", authority: "", endpoint: "localhost:50051" });
  assert.deepEqual(parse("127.0.0.1:50051"), { scheme: "dns", authority: "", endpoint: "127.0.0.1:50051" });
  assert.deepEqual(parse("example.com"), { scheme: "dns", authority: "", endpoint: "example.com" });
  assert.deepEqual(parse("[::1]:50051"), { scheme: "dns", authority: "", endpoint: "[::1]:50051" });
  assert.deepEqual(parse("dns:localhost:50051"), { scheme: "dns", authority: "", endpoint: "localhost:50051" });
  assert.deepEqual(parse("dns:///localhost:50051"), { scheme: "dns", authority: "", endpoint: "localhost:50051" });
  assert.deepEqual(parse("dns://8.8.8.8/example.com:443"), { scheme: "dns", authority: "8.8.8.8", endpoint: "example.com:443" });
  assert.deepEqual(parse("DNS:host:1"), { scheme: "dns", authority: "", endpoint: "host:1" });
  assert.deepEqual(parse("ipv4:127.0.0.1:1,10.0.0.2:2"), { scheme: "ipv4", authority: "", endpoint: "127.0.0.1:1,10.0.0.2:2" });
  assert.deepEqual(parse("ipv6:[::1]:50051,[fe80::1]:2"), { scheme: "ipv6", authority: "", endpoint: "[::1]:50051,[fe80::1]:2" });
  assert.deepEqual(parse("unix:/tmp/grpc.sock"), { scheme: "unix", authority: "", endpoint: "/tmp/grpc.sock" });
  assert.deepEqual(parse("unix:relative/grpc.sock"), { scheme: "unix", authority: "", endpoint: "relative/grpc.sock" });
  assert.deepEqual(parse("unix:///tmp/grpc.sock"), { scheme: "unix", authority: "", endpoint: "/tmp/grpc.sock" });
  assert.deepEqual(parse("unix-abstract:my-name"), { scheme: "unix-abstract", authority: "", endpoint: "my-name" });
  // An unknown scheme is a host name for DNS.
  assert.deepEqual(parse("myhost:8080"), { scheme: "dns", authority: "", endpoint: "myhost:8080" });
});

test("splitHostPort: brackets, default ports, bare IPv6, bad ports", () => {
  assert.deepEqual(splitHostPort("[::1]:80", 443), { host: "::1", port: 80 });
  assert.deepEqual(splitHostPort("[::1]", 443), { host: "::1", port: 443 });
  assert.deepEqual(splitHostPort("::1", 443), { host: "::1", port: 443 });
  assert.deepEqual(splitHostPort("host", 443), { host: "host", port: 443 });
  assert.deepEqual(splitHostPort("host:8080", 443), { host: "host", port: 8080 });
  assert.throws(() => splitHostPort("host:99999", 443));
  assert.throws(() => splitHostPort("host:abc", 443));
  assert.throws(() => splitHostPort(":80", 443));
  assert.throws(() => splitHostPort("host", undefined));
});

// ---- end to end -------------------------------------------------------------------------------------

test("host:port, dns:host:port, dns:///host:port and ipv4: all reach a server on 127.0.0.1", T, async (t) => {
  const { port } = await echoOn(t, "127.0.0.1:0");
  for (const target of [`127.0.0.1:${port}`, `localhost:${port}`, `dns:localhost:${port}`, `dns:///localhost:${port}`, `ipv4:127.0.0.1:${port}`]) {
    assert.equal(await roundTrip(t, target), target);
  }
});

test("ipv4 with several addresses: pick_first skips one that refuses", T, async (t) => {
  const { port } = await echoOn(t, "127.0.0.1:0");
  const closed = await freePort();
  const target = `ipv4:127.0.0.1:${closed},127.0.0.1:${port}`;
  assert.equal(await roundTrip(t, target), target);
});

test("dns:localhost reaches a server on either loopback (pick_first over what localhost resolves to)", T, async (t) => {
  const { port } = await echoOn(t, "localhost:0");
  assert.equal(await roundTrip(t, `dns:localhost:${port}`), `dns:localhost:${port}`);
});

test("ipv6: [::1]:port and ipv6:[::1]:port", T, async (t) => {
  if (!(await hasIpv6Loopback())) {
    t.skip("this machine has no IPv6 loopback (::1)");
    return;
  }
  const { port, peers } = await echoOn(t, "[::1]:0");
  assert.equal(await roundTrip(t, `[::1]:${port}`), `[::1]:${port}`);
  assert.equal(await roundTrip(t, `ipv6:[::1]:${port}`), `ipv6:[::1]:${port}`);
  assert.ok(peers.every((p) => p.startsWith("ipv6:[::1]:")), peers.join(" "));
});

test("unix: socket in a temp dir, as unix:path and unix:///path", T, async (t) => {
  const path = join(tempDir(t), "echo.sock");
  await echoOn(t, `unix:${path}`);
  assert.equal(await roundTrip(t, `unix:${path}`), `unix:${path}`);
  assert.equal(await roundTrip(t, `unix://${path}`), `unix://${path}`);
});

test("unix-abstract: on Linux", T, async (t) => {
  if (process.platform !== "linux") {
    t.skip("abstract unix sockets exist only on Linux");
    return;
  }
  const name = `tsgrpc-client-test-${process.pid}-${Date.now()}`;
  await echoOn(t, `unix-abstract:${name}`);
  assert.equal(await roundTrip(t, `unix-abstract:${name}`), `unix-abstract:${name}`);
});

test(":authority is the target's host:port, or what the resolver says", T, async (t) => {
  const authorities: string[] = [];
  const port = await rawServer(t, (stream, headers) => {
    authorities.push(String(headers[":authority"]));
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "0" }, { endStream: true });
  });
  registerResolver({
    scheme: "authority-test",
    resolve: async () => [{ host: "127.0.0.1", port }],
    authority: (target) => `${target.endpoint}.internal`,
  });
  for (const target of [`127.0.0.1:${port}`, `dns:///localhost:${port}`, `ipv4:127.0.0.1:${port}`, "authority-test:svc"]) {
    // An OK status without a message is UNIMPLEMENTED for a unary call; only the head matters here.
    await rejectsWith(unaryUnary(channelFor(t, target), "/a.B/C")(new Uint8Array()), Code.UNIMPLEMENTED);
  }
  assert.deepEqual(authorities, [`127.0.0.1:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, "svc.internal"]);
});

test("a missing unix socket and bad ports fail UNAVAILABLE, not with a crash", T, async (t) => {
  const dir = tempDir(t);
  for (const target of [`unix:${join(dir, "nobody-here.sock")}`, "localhost:notaport", "ipv4:127.0.0.1:notaport"]) {
    const client = createClient(Echo, channelFor(t, target));
    await rejectsWith(client.unary({}), Code.UNAVAILABLE);
  }
});

test("registerResolver: a custom scheme resolves to a server", T, async (t) => {
  const { port } = await echoOn(t, "127.0.0.1:0");
  const resolved: string[] = [];
  registerResolver({
    scheme: "static-test",
    async resolve(target) {
      resolved.push(target.endpoint);
      return [{ host: "127.0.0.1", port }];
    },
  });
  assert.equal(await roundTrip(t, "static-test:echo"), "static-test:echo");
  assert.deepEqual(resolved, ["echo"]);
});

test("createChannel rejects an unknown default compression", () => {
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { compression: "brotli" }), /unknown compression/);
});
