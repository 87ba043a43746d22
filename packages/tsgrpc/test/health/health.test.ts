/**
 * grpc.health.v1 (doc/health-checking.md, gRFC A17): Check and Watch as the protocol says, the shutdown
 * order (NOT_SERVING before the listeners close), and both directions against the grpc-node project's
 * own implementation (the grpc-health-check npm package on @grpc/grpc-js).
 */
import assert from "node:assert/strict";
import { after, describe, test, type TestContext } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation, service as grpcJsHealthService } from "grpc-health-check";
import { Code, createChannel, createClient, createServer, type Server } from "tsgrpc";
import { addHealthService, Health, ServingStatus, type HealthService } from "tsgrpc/health";
import { StatusWatch } from "../../src/health/status-watch.js";
import { rejectsWith, within } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

async function healthServer(t: TestContext): Promise<{ server: Server; health: HealthService; port: number }> {
  const server = createServer();
  const health = addHealthService(server);
  const port = await server.bind("127.0.0.1:0");
  t.after(() => server.forceShutdown());
  return { server, health, port };
}

function healthClient(t: TestContext, port: number) {
  const channel = createChannel(`127.0.0.1:${port}`);
  t.after(() => channel.close());
  return createClient(Health, channel);
}

/** Reads a Watch stream one response at a time. */
function reader(stream: AsyncIterable<{ status: ServingStatus }>) {
  const it = stream[Symbol.asyncIterator]();
  return {
    next: async (): Promise<ServingStatus> => {
      const result = await within(it.next(), 5_000, "the next Watch response");
      assert.equal(result.done, false, "the Watch stream ended");
      return result.value.status;
    },
    end: async (): Promise<void> => {
      const result = await within(it.next(), 5_000, "the end of the Watch stream");
      assert.equal(result.done, true, "the Watch stream goes on");
    },
    cancel: () => it.return?.(),
  };
}

describe("health: Check", () => {
  test('"" (the whole server) starts SERVING; an unknown service is NOT_FOUND; set ones answer', async (t) => {
    const { health, port } = await healthServer(t);
    const client = healthClient(t, port);
    assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
    await rejectsWith(client.check({ service: "routeguide.RouteGuide" }), Code.NOT_FOUND, /unknown service "routeguide\.RouteGuide"/);
    health.setStatus("routeguide.RouteGuide", "NOT_SERVING");
    assert.equal((await client.check({ service: "routeguide.RouteGuide" })).status, ServingStatus.NOT_SERVING);
    health.setStatus("routeguide.RouteGuide", ServingStatus.SERVING);
    assert.equal((await client.check({ service: "routeguide.RouteGuide" })).status, ServingStatus.SERVING);
    health.clearStatus("routeguide.RouteGuide");
    await rejectsWith(client.check({ service: "routeguide.RouteGuide" }), Code.NOT_FOUND);
  });

  test("SERVICE_UNKNOWN and other values are refused as statuses to set", async (t) => {
    const { health } = await healthServer(t);
    assert.throws(() => health.setStatus("x", ServingStatus.SERVICE_UNKNOWN), RangeError);
    assert.throws(() => health.setStatus("x", 17 as ServingStatus), RangeError);
    assert.equal(health.getStatus("x"), undefined);
  });
});

describe("health: Watch", () => {
  test("sends the current status at once, then every change, and nothing for a repeated status", async (t) => {
    const { health, port } = await healthServer(t);
    const watch = reader(healthClient(t, port).watch({ service: "" }));
    assert.equal(await watch.next(), ServingStatus.SERVING);
    health.setStatus("", "SERVING"); // the same status: no message
    health.setStatus("", "NOT_SERVING");
    assert.equal(await watch.next(), ServingStatus.NOT_SERVING);
    health.setStatus("", "SERVING");
    assert.equal(await watch.next(), ServingStatus.SERVING);
    await watch.cancel();
  });

  test("an unknown service: SERVICE_UNKNOWN, the call stays open, and its later status arrives", async (t) => {
    const { health, port } = await healthServer(t);
    const watch = reader(healthClient(t, port).watch({ service: "users.Users" }));
    assert.equal(await watch.next(), ServingStatus.SERVICE_UNKNOWN);
    health.setStatus("users.Users", "SERVING");
    assert.equal(await watch.next(), ServingStatus.SERVING);
    health.clearStatus("users.Users");
    assert.equal(await watch.next(), ServingStatus.SERVICE_UNKNOWN);
    await watch.cancel();
  });

  test("a watcher the client cancels is forgotten by the server", async (t) => {
    const { server, health, port } = await healthServer(t);
    const watch = reader(healthClient(t, port).watch({ service: "" }));
    assert.equal(await watch.next(), ServingStatus.SERVING);
    await watch.cancel();
    const giveUp = Date.now() + 2_000;
    while (server.activeCalls > 0 && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.activeCalls, 0, "the Watch handler ended with the cancelled call");
    health.setStatus("", "NOT_SERVING"); // no watcher left to tell: nothing throws
  });

  test("statuses that change faster than the reader reads are coalesced to the newest", async () => {
    const watch = new StatusWatch<number>(1);
    const it = watch[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    watch.push(2);
    watch.push(3);
    assert.deepEqual(await it.next(), { done: false, value: 3 });
    watch.push(4);
    watch.push(3); // back to what the reader has: nothing to send
    watch.close();
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });
});

describe("health: server shutdown", () => {
  test("every status turns NOT_SERVING and Watch streams end before the server stops, even with no grace limit", async (t) => {
    const { server, health, port } = await healthServer(t);
    health.setStatus("routeguide.RouteGuide", "SERVING");
    const client = healthClient(t, port);
    const whole = reader(client.watch({ service: "" }));
    const one = reader(client.watch({ service: "routeguide.RouteGuide" }));
    assert.equal(await whole.next(), ServingStatus.SERVING);
    assert.equal(await one.next(), ServingStatus.SERVING);
    const stopped = server.shutdown(); // no graceMs: it would wait for the watchers for ever
    assert.equal(health.getStatus(""), ServingStatus.NOT_SERVING);
    assert.equal(health.getStatus("routeguide.RouteGuide"), ServingStatus.NOT_SERVING);
    assert.equal(await whole.next(), ServingStatus.NOT_SERVING);
    assert.equal(await one.next(), ServingStatus.NOT_SERVING);
    await whole.end();
    await one.end();
    await within(stopped, 5_000, "the graceful shutdown");
    health.setStatus("", "SERVING"); // ignored once shut down
    assert.equal(health.getStatus(""), ServingStatus.NOT_SERVING);
  });
});

describe("health: interop with the grpc-node project's grpc-health-check", () => {
  const grpcJsClients: grpc.Client[] = [];
  after(() => grpcJsClients.forEach((c) => c.close()));
  const HealthClient = grpc.makeGenericClientConstructor(grpcJsHealthService as grpc.ServiceDefinition, "Health");

  test("a @grpc/grpc-js client with grpc-health-check's service definition checks and watches a tsgrpc server", async (t) => {
    const { health, port } = await healthServer(t);
    health.setStatus("users.Users", "SERVING");
    const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    grpcJsClients.push(client);
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        (client as unknown as { Check: (r: object, cb: (e: Error | null, v: { status: string }) => void) => void }).Check({ service }, (e, v) => (e ? reject(e) : resolve(v))),
      );
    assert.equal((await check("users.Users")).status, "SERVING");
    await assert.rejects(check("nope"), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);

    const call = (client as unknown as { Watch: (r: object) => grpc.ClientReadableStream<{ status: string }> }).Watch({ service: "users.Users" });
    const seen: string[] = [];
    const twoSeen = new Promise<void>((resolve) =>
      call.on("data", (m: { status: string }) => {
        seen.push(m.status);
        if (seen.length === 1) health.setStatus("users.Users", "NOT_SERVING");
        if (seen.length === 2) resolve();
      }),
    );
    call.on("error", () => {}); // CANCELLED after cancel()
    await within(twoSeen, 5_000, "two Watch responses");
    call.cancel();
    assert.deepEqual(seen, ["SERVING", "NOT_SERVING"]);
  });

  test("a tsgrpc client checks and watches a @grpc/grpc-js server running grpc-health-check", async (t) => {
    const implementation = new HealthImplementation({ "": "SERVING", "users.Users": "NOT_SERVING" });
    const server = new grpc.Server();
    implementation.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    const client = healthClient(t, port);
    assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
    assert.equal((await client.check({ service: "users.Users" })).status, ServingStatus.NOT_SERVING);
    await rejectsWith(client.check({ service: "nope" }), Code.NOT_FOUND);
    const watch = reader(client.watch({ service: "users.Users" }));
    assert.equal(await watch.next(), ServingStatus.NOT_SERVING);
    implementation.setStatus("users.Users", "SERVING");
    assert.equal(await watch.next(), ServingStatus.SERVING);
    await watch.cancel();
  });
});
