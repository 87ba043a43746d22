import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ChannelCredentials, Code, createChannel, createClient, registerResolver, unaryUnary } from "tsgrpc";
import { resolveTarget } from "../../src/client/resolver/resolve-target.js";
import { getResolverFactory, registeredSchemes } from "../../src/client/resolver/resolver-registry.js";
import { parseTarget, splitHostPort } from "../../src/client/resolver/target.js";
import type { ResolverUpdate } from "../../src/client/resolver/resolver.js";
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
  assert.throws(() => splitHostPort("host:99999", 443), RangeError);
  assert.throws(() => splitHostPort("host:abc", 443), RangeError);
  // Number() would take these; a port is decimal digits only.
  for (const port of ["0x50", " 80", "1e3", "+80", "-1", "80.0"]) assert.throws(() => splitHostPort(`host:${port}`, 443), RangeError, port);
  assert.throws(() => splitHostPort(":80", 443), TypeError);
  assert.throws(() => splitHostPort("host", undefined), TypeError);
});

// ---- validation when the channel is created -----------------------------------------------------------

const ACCEPTED_FORMS =
  /Accepted forms: host:port, dns:\[\/\/authority\/\]host\[:port\], ipv4:addr:port\[,addr:port\.\.\.\], ipv6:\[addr\]:port\[,\[addr\]:port\.\.\.\], unix:path, unix:\/\/\/absolute\/path, unix-abstract:name/;

/** Asserts createChannel(target) throws at once an error of `type` whose message matches `reason` and lists the accepted forms. */
function assertRejected(target: string, type: typeof TypeError | typeof RangeError, reason: RegExp): void {
  assert.throws(
    () => createChannel(target),
    (err: unknown) => {
      assert.ok(err instanceof type, `${JSON.stringify(target)}: expected a ${type.name}, got ${String(err)}`);
      assert.ok(err.message.startsWith(`invalid channel target "${target}": `), err.message);
      assert.match(err.message, reason, JSON.stringify(target));
      assert.match(err.message, ACCEPTED_FORMS, JSON.stringify(target));
      return true;
    },
  );
}

test("createChannel throws at once for a URL, saying what to write instead", () => {
  assertRejected("http://host:50051", TypeError, /not a URL: write "host:50051"/);
  assertRejected("HTTP://host:50051/some/path", TypeError, /not a URL: write "host:50051"/);
  assertRejected("https://host:443", TypeError, /write "host:443" and pass TLS credentials.*createChannel\("host:443", ChannelCredentials\.tls\(\)\)/);
  assertRejected("https://example.com", TypeError, /write "example.com:443"/);
  // The advice is real: that credentials factory exists.
  assert.equal(typeof ChannelCredentials.tls, "function");
  assertRejected("foo://x", TypeError, /unknown scheme "foo"/);
});

test("createChannel throws at once for bad ports, empty targets and malformed addresses", () => {
  assertRejected("host:99999", RangeError, /port "99999"/);
  assertRejected("localhost:abc", RangeError, /port "abc"/);
  assertRejected("localhost:notaport", RangeError, /port "notaport"/);
  assertRejected("dns:///host:70000", RangeError, /port "70000"/);
  assertRejected("ipv4:127.0.0.1:notaport", RangeError, /port "notaport"/);
  assertRejected("ipv4:127.0.0.1:1,127.0.0.1:99999", RangeError, /port "99999"/);
  assertRejected("host:50051/path", RangeError, /port "50051\/path"/);
  assertRejected("", TypeError, /empty/);
  assertRejected("   ", TypeError, /empty/);
  assertRejected("dns:", TypeError, /no host/);
  assertRejected(":50051", TypeError, /no host/);
  assertRejected("dns://host:50051", TypeError, /names a DNS server, not a host: write "dns:\/\/\/host:50051" or "host:50051"/);
  assertRejected("host name:80", TypeError, /not a valid host name/);
  assertRejected("a:b:c", TypeError, /neither a host name nor an IPv6 address/);
  assertRejected("[not-v6]:80", TypeError, /neither a host name nor an IPv6 address/);
  assertRejected("ipv4:localhost:1", TypeError, /"localhost" is not an IPv4 address/);
  assertRejected("ipv4:127.0.0:1", TypeError, /not an IPv4 address/);
  assertRejected("ipv4:256.0.0.1:1", TypeError, /not an IPv4 address/);
  assertRejected("ipv6:127.0.0.1:1", TypeError, /not an IPv6 address/);
  assertRejected("ipv6:[1::2::3]:1", TypeError, /not an IPv6 address/);
  assertRejected("unix:", TypeError, /no socket path/);
  assertRejected("unix://relative/grpc.sock", TypeError, /write "unix:\/\/\/relative\/grpc.sock" or "unix:relative\/grpc.sock"/);
  assertRejected("unix-abstract:", TypeError, /no abstract socket name/);
  assertRejected("unix:/tmp/a\0b", TypeError, /NUL/);
  assert.throws(() => createChannel(undefined as unknown as string), TypeError);
});

test("every documented form is accepted; with no port, dns, ipv4 and ipv6 use 443 (naming.md)", async () => {
  const good = [
    "localhost:50051",
    "127.0.0.1:50051",
    "[::1]:50051",
    "::1",
    "example.com",
    "host:",
    "my_host-1.example:1",
    "dns:localhost:50051",
    "dns:///localhost:50051",
    "dns://8.8.8.8/example.com:443",
    "DNS:host:1",
    "ipv4:127.0.0.1:1,10.0.0.2:2",
    "ipv4:127.0.0.1",
    "ipv6:[::1]:50051,[fe80::1%eth0]:2",
    "ipv6:::1",
    "ipv6:[::ffff:10.0.0.1]:3",
    "ipv6:[1:2:3:4:5:6:7:8]:4",
    "unix:/tmp/grpc.sock",
    "unix:relative/grpc.sock",
    "unix:///tmp/grpc.sock",
    "unix-abstract:my-name",
  ];
  for (const target of good) {
    const channel = createChannel(target); // connects only on the first call: nothing to wait for
    assert.equal(channel.target, target);
    channel.close();
  }
  const portOf = async (target: string): Promise<unknown[]> => {
    const { target: parsed, factory } = resolveTarget(target);
    const update = await new Promise<ResolverUpdate>((resolve, reject) => {
      const resolver = factory.create(parsed, {
        onUpdate: (u) => (resolver.close(), resolve(u)),
        onError: (e) => (resolver.close(), reject(e)),
      });
    });
    return update.endpoints.flat().map((address) => ("port" in address ? address.port : undefined));
  };
  assert.deepEqual(await portOf("ipv4:127.0.0.1"), [443]);
  assert.deepEqual(await portOf("ipv6:::1"), [443]);
  assert.deepEqual(await portOf("ipv6:[::1]"), [443]);
  assert.ok((await portOf("dns:localhost")).every((port) => port === 443));
  assert.ok((await portOf("localhost")).every((port) => port === 443));
});

test("registered resolvers check their own syntax: validate() or nothing; their schemes win over the URL check", () => {
  registerResolver({
    scheme: "validating-test",
    validate(target) {
      if (!/^svc-\d+$/.test(target.endpoint)) throw new TypeError(`"${target.endpoint}" is not svc-<number>`);
      if (target.endpoint === "svc-0") throw new RangeError("svc-0 does not exist");
    },
    resolve: async () => [],
  });
  registerResolver({ scheme: "anything-test", resolve: async () => [] });
  createChannel("validating-test:svc-1").close();
  assertRejected("validating-test:nope", TypeError, /"nope" is not svc-<number>/);
  assertRejected("validating-test:svc-0", RangeError, /svc-0 does not exist/);
  // The accepted forms name the registered schemes too.
  assertRejected("foo://x", TypeError, /, validating-test:\.\.\., anything-test:\.\.\./);
  // No validate(): anything goes, even what DNS would refuse, and a "scheme://" form of its own.
  for (const target of ["anything-test:not a host:99999", "anything-test://authority/path?x", "anything-test:"]) createChannel(target).close();
  assert.ok(getResolverFactory("anything-test"));
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

test("a well-formed target nobody answers at fails UNAVAILABLE (a missing unix socket, a closed port)", T, async (t) => {
  const dir = tempDir(t);
  for (const target of [`unix:${join(dir, "nobody-here.sock")}`, `ipv4:127.0.0.1:${await freePort()}`]) {
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
