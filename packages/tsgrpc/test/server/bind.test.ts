import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createServer, type Server } from "../../src/index.js";
import { Echo } from "../gen/echo_pb.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { RawHttp2Client } from "../helpers/raw-http2-client.js";
import { decodeResponse, echoImpl, encodeRequest, UNARY } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/** Why IPv6 loopback cannot be used here, or undefined when it can. */
async function noIpv6Loopback(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (err) => resolve(`no IPv6 loopback on this machine (${(err as Error).message})`));
    probe.listen({ host: "::1", port: 0 }, () => probe.close(() => resolve(undefined)));
  });
}

function echoServer(t: { after(fn: () => Promise<void>): void }): Server {
  const server = createServer().addService(Echo, echoImpl);
  t.after(() => server.forceShutdown());
  return server;
}

/** One unary call over a fresh connection to host:port; resolves with the peer the handler saw. */
async function callOnce(host: string, port: number, text = "ping"): Promise<void> {
  const client = await RawHttp2Client.connect(port, host);
  try {
    const response = await client.call(UNARY, { messages: [encodeRequest({ message: text })] });
    assert.equal(response.grpcStatus, 0, `${host}:${port}: ${response.grpcMessage}`);
    assert.equal(decodeResponse(response.messages[0]!.payload).message, text);
  } finally {
    await client.close();
  }
}

test("bind 127.0.0.1:0 resolves with the port picked, listed in addresses", T, async (t) => {
  const server = echoServer(t);
  const port = await server.bind("127.0.0.1:0");
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536, String(port));
  assert.deepEqual(server.addresses, [{ host: "127.0.0.1", port }]);
  await callOnce("127.0.0.1", port);
});

test("bind [::1]:0 serves IPv6, and the handler sees an ipv6 peer", T, async (t) => {
  const reason = await noIpv6Loopback();
  if (reason) {
    t.skip(reason);
    return;
  }
  let peer = "";
  const server = createServer().addService(Echo, {
    unary: (_req, ctx) => {
      peer = ctx.peer;
      return {};
    },
  });
  t.after(() => server.forceShutdown());
  const port = await server.bind("[::1]:0");
  assert.ok(port > 0);
  const client = await RawHttp2Client.connect(port, "::1");
  try {
    const response = await client.call(UNARY, { messages: [encodeRequest()] });
    assert.equal(response.grpcStatus, 0);
    assert.equal(peer, `ipv6:[::1]:${client.session.socket.localPort}`);
  } finally {
    await client.close();
  }
});

test("two binds on one server: both ports serve, and both are listed", T, async (t) => {
  const server = echoServer(t);
  const first = await server.bind("127.0.0.1:0");
  const second = await server.bind("127.0.0.1:0");
  assert.notEqual(first, second);
  assert.deepEqual(server.addresses.map((a) => ("port" in a ? a.port : 0)).sort(), [first, second].sort());
  await Promise.all([callOnce("127.0.0.1", first, "one"), callOnce("127.0.0.1", second, "two")]);
});

test("bind localhost:0 serves on 127.0.0.1 and, where there is one, on ::1 with the same port", T, async (t) => {
  const server = echoServer(t);
  const port = await server.bind("localhost:0");
  assert.ok(port > 0);
  await callOnce("127.0.0.1", port);
  if (await noIpv6Loopback()) return;
  await callOnce("::1", port);
  assert.equal(server.addresses.length, 2);
});

test("bind :0 listens on every interface; an IPv4 client is seen as ipv4, not as a mapped IPv6 address", T, async (t) => {
  let peer = "";
  const server = createServer().addService(Echo, {
    unary: (_req, ctx) => {
      peer = ctx.peer;
      return {};
    },
  });
  t.after(() => server.forceShutdown());
  const port = await server.bind(":0");
  const client = await RawHttp2Client.connect(port, "127.0.0.1");
  try {
    const response = await client.call(UNARY, { messages: [encodeRequest()] });
    assert.equal(response.grpcStatus, 0);
    assert.equal(peer, `ipv4:127.0.0.1:${client.session.socket.localPort}`);
  } finally {
    await client.close();
  }
});

test("bind unix:path serves over a unix domain socket and removes it on shutdown", T, async (t) => {
  if (process.platform === "win32") {
    t.skip("no unix domain sockets on Windows");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "tsgrpc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "server.sock");
  let peer = "";
  const server = createServer().addService(Echo, {
    unary: (_req, ctx) => {
      peer = ctx.peer;
      return { message: "over unix" };
    },
  });
  t.after(() => server.forceShutdown());
  assert.equal(await server.bind(`unix:${path}`), 0, "no port for a unix socket");
  assert.deepEqual(server.addresses, [{ path }]);
  const client = await RawHttp2Client.connectUnix(path);
  try {
    const response = await client.call(UNARY, { messages: [encodeRequest()] });
    assert.equal(response.grpcStatus, 0);
    assert.equal(decodeResponse(response.messages[0]!.payload).message, "over unix");
    assert.equal(peer, `unix:${path}`);
  } finally {
    await client.close();
  }
  await server.shutdown();
  assert.equal(existsSync(path), false);
});

test("bind rejects a port in use and a malformed address; the server keeps working", T, async (t) => {
  const server = echoServer(t);
  const port = await server.bind("127.0.0.1:0");
  await assert.rejects(server.bind(`127.0.0.1:${port}`), /EADDRINUSE/);
  await assert.rejects(server.bind("no-port-here"), /cannot bind/);
  await assert.rejects(server.bind("127.0.0.1:70000"), /out of range/);
  await callOnce("127.0.0.1", port);
});

test("bind after shutdown is refused", T, async () => {
  const server = createServer().addService(Echo, echoImpl);
  await server.bind("127.0.0.1:0");
  await server.shutdown();
  await assert.rejects(server.bind("127.0.0.1:0"), /shut down/);
});
