import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { create, toJson } from "@bufbuild/protobuf";
import { Code, createChannel, createClient, createServer, RpcError } from "tsgrpc";
import { loadProtos, loadProtosSync, ProtoError } from "@tsgrpc/proto-loader";
import { failOnLeakedHandles } from "../../tsgrpc/test/helpers/leak-check.js";

failOnLeakedHandles();

const sharedProtos = fileURLToPath(new URL("../../../../shared/protos", import.meta.url));

test("loaded descriptors serve and call like generated code", { timeout: 30_000 }, async () => {
  const protos = await loadProtos({ includes: [sharedProtos], files: ["users.proto"] });
  const Users = protos.service("Users");
  assert.deepEqual(Users.methods.map((m) => m.name), ["CreateUser", "GetUsers"]);
  const server = createServer();
  server.addService(Users, {
    async createUser(request: any) {
      return { user: { username: request.username, userId: 7 } };
    },
    async *getUsers(request: any) {
      for (const user of request.user) yield { user };
    },
  });
  const port = await server.bind("127.0.0.1:0");
  const channel = createChannel(`127.0.0.1:${port}`);
  after(async () => {
    channel.close();
    await server.forceShutdown();
  });
  const client: any = createClient(Users, channel);
  const created = await client.createUser({ username: "ada" });
  assert.deepEqual(toJson(protos.message("users.CreateUserResult"), created), { user: { username: "ada", userId: 7 } });
  const names: string[] = [];
  for await (const result of client.getUsers({ user: [{ username: "a" }, { username: "b" }] })) names.push(result.user.username);
  assert.deepEqual(names, ["a", "b"]);
});

test("loadProtosSync loads messages usable with protobuf-es", () => {
  const protos = loadProtosSync({ includes: [sharedProtos], files: [join(sharedProtos, "route_guide.proto")] });
  assert.ok(protos.services["routeguide.RouteGuide"]);
  const point = create(protos.message("routeguide.Point") as any, { latitude: 1, longitude: 2 });
  assert.deepEqual(toJson(protos.message("routeguide.Point"), point), { latitude: 1, longitude: 2 });
  assert.throws(() => protos.service("routeguide.Nope"), /no service "routeguide\.Nope".*routeguide\.RouteGuide/);
});

test("a broken file fails with a ProtoError naming file, line and column", async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "loader-"));
  try {
    writeFileSync(join(dir, "bad.proto"), 'syntax = "proto3";\nmessage Bad { int32 x = 1 }\n');
    await assert.rejects(loadProtos({ includes: [dir], files: ["bad.proto"] }), (err: unknown) => {
      assert.ok(err instanceof ProtoError);
      assert.match((err as Error).message, /bad\.proto:2:\d+: /);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a call to a loaded service that the server lacks is UNIMPLEMENTED", { timeout: 30_000 }, async () => {
  const protos = await loadProtos({ includes: [sharedProtos], files: ["users.proto"] });
  const server = createServer();
  const port = await server.bind("127.0.0.1:0");
  const channel = createChannel(`127.0.0.1:${port}`);
  after(async () => {
    channel.close();
    await server.forceShutdown();
  });
  const client: any = createClient(protos.service("Users"), channel);
  await assert.rejects(client.createUser({ username: "x" }), (err: unknown) => err instanceof RpcError && err.code === Code.UNIMPLEMENTED);
});
