import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { test, type TestContext } from "node:test";
import { ConnectivityState, createChannel, createClient } from "tsgrpc";
import { resolveTarget } from "../../src/client/resolver/resolve-target.js";
import type { ResolverUpdate } from "../../src/client/resolver/resolver.js";
import { Echo } from "../gen/echo_pb.js";
import { channelFor, freePort } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoImpl, startTestServer } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };
const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/** An Echo server on 127.0.0.1 that answers with its own name. */
async function namedServer(t: TestContext, name: string) {
  const server = await startTestServer((s) => s.addService(Echo, { ...echoImpl, unary: () => ({ message: name }) }));
  t.after(() => server.close());
  return server;
}

test("round_robin over an ipv4: list of three servers: sequential calls go to each in turn", T, async (t) => {
  const servers = await Promise.all(["a", "b", "c"].map((name) => namedServer(t, name)));
  const target = `ipv4:${servers.map((s) => `127.0.0.1:${s.port}`).join(",")}`;
  const channel = channelFor(t, target, { "grpc.service_config": ROUND_ROBIN });
  const client = createClient(Echo, channel);
  // READY comes with the first connection; the others join the rotation as they connect.
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 3; i++) seen.add((await client.unary({})).message);
  assert.equal(seen.size, 3, "every server joined the rotation");
  const counts = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const name = (await client.unary({})).message;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [10, 10, 10], JSON.stringify([...counts]));
  // Concurrent calls spread the same way.
  const concurrent = await Promise.all(Array.from({ length: 30 }, () => client.unary({})));
  const spread = new Map<string, number>();
  for (const r of concurrent) spread.set(r.message, (spread.get(r.message) ?? 0) + 1);
  assert.deepEqual([...spread.values()], [10, 10, 10]);
});

test("round_robin leaves out an address that refuses, and takes a server back once it is up", T, async (t) => {
  const a = await namedServer(t, "a");
  const closed = await freePort();
  const channel = channelFor(t, `ipv4:127.0.0.1:${a.port},127.0.0.1:${closed}`, {
    serviceConfig: ROUND_ROBIN,
    backoff: { initialMs: 100, maxMs: 100, jitter: 0 },
  });
  const client = createClient(Echo, channel);
  for (let i = 0; i < 6; i++) assert.equal((await client.unary({})).message, "a");
  assert.equal(channel.getState(), ConnectivityState.READY);
  const b = await startTestServer((s) => s.addService(Echo, { ...echoImpl, unary: () => ({ message: "b" }) }), { address: `127.0.0.1:${closed}` });
  t.after(() => b.close());
  const seen = new Set<string>();
  const until = Date.now() + 5000;
  while (seen.size < 2 && Date.now() < until) {
    seen.add((await client.unary({})).message);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual([...seen].sort(), ["a", "b"], "the failed address reconnected with backoff");
});

test("grpc.service_config is checked at createChannel: invalid JSON, a malformed or unsupported policy", () => {
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { "grpc.service_config": "{loadBalancingConfig" }),
    /invalid channel option serviceConfig \(grpc\.service_config\): the service config is not valid JSON/);
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { serviceConfig: '{"loadBalancingConfig": {"round_robin": {}}}' }),
    /loadBalancingConfig is not an array/);
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { serviceConfig: '{"loadBalancingConfig": [{"weighted_magic": {}}]}' }),
    /no policy in loadBalancingConfig is supported \(weighted_magic; supported: pick_first, round_robin\)/);
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { serviceConfig: "[]" }), /a service config is a JSON object, got an array/);
  // The first supported policy wins; pick_first stays the default.
  createChannel("127.0.0.1:1", undefined, { serviceConfig: '{"loadBalancingConfig": [{"weighted_magic": {}}, {"pick_first": {}}]}' }).close();
  createChannel("127.0.0.1:1", undefined, { serviceConfig: "{}" }).close();
});

test("dns: resolves to every A and AAAA address of the host, each its own endpoint", async () => {
  const expected = (await lookup("localhost", { all: true, verbatim: true })).map((entry) => entry.address);
  const { target, factory } = resolveTarget("dns:localhost:50051");
  const update = await new Promise<ResolverUpdate>((resolve, reject) => {
    const resolver = factory.create(target, {
      onUpdate: (u) => (resolver.close(), resolve(u)),
      onError: (e) => (resolver.close(), reject(e)),
    });
  });
  assert.equal(update.endpoints.length, expected.length);
  assert.deepEqual(update.endpoints.map((endpoint) => endpoint.map((a) => ("host" in a ? `${a.host}:${a.port}` : ""))),
    expected.map((host) => [`${host}:50051`]));
});
