/** The Users service implementation, served by tsgrpc and called by the tsgrpc client in this process. */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Code, createChannel, createClient, createServer, RpcError, type Client } from "tsgrpc";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { Users } from "../src/gen/users_pb.js";
import { createUsersService, type UsersServiceOptions } from "../src/users-service.js";

failOnLeakedHandles();

const T = { timeout: 15_000 };

async function serve(t: TestContext, options: UsersServiceOptions): Promise<Client<typeof Users>> {
  const server = createServer().addService(Users, createUsersService(options));
  const port = await server.bind("127.0.0.1:0");
  const channel = createChannel(`127.0.0.1:${port}`);
  t.after(async () => {
    channel.close();
    await server.forceShutdown();
  });
  return createClient(Users, channel);
}

test("CreateUser: the requested username with increasing ids; the metadata is logged", T, async (t) => {
  const log: string[] = [];
  const users = await serve(t, { log: (line) => log.push(line), firstUserId: 7 });
  const metadata = { ip: "127.0.0.1", "trace-bin": new Uint8Array([1, 2, 3]) };
  const a = await users.createUser({ username: "tom", password: "x", email: "tom@example.com" }, { timeoutMs: 30_000, metadata });
  const b = await users.createUser({ username: "jerry" }, { timeoutMs: 30_000, metadata: { ip: "10.0.0.1" } });
  assert.deepEqual([a.user?.username, a.user?.userId], ["tom", 7]);
  assert.deepEqual([b.user?.username, b.user?.userId], ["jerry", 8]);

  const logged = log.filter((l) => l.startsWith("CreateUser metadata: ")).map((l) => JSON.parse(l.slice(21)) as Record<string, string[]>);
  assert.equal(logged.length, 2);
  assert.deepEqual(logged[0]!.ip, ["127.0.0.1"]);
  assert.deepEqual(logged[0]!["trace-bin"], ["AQID"], "binary metadata is logged in base64");
  assert.deepEqual(logged[1]!.ip, ["10.0.0.1"]);
  assert.ok(log.some((l) => /^CreateUser from ipv4:127\.0\.0\.1:\d+, deadline: (29|30)\.\d\d s left$/.test(l)), log.join("\n"));
});

test("CreateUser without a username: INVALID_ARGUMENT", T, async (t) => {
  const users = await serve(t, { log: () => {} });
  await assert.rejects(users.createUser({}), (err: unknown) => err instanceof RpcError && err.code === Code.INVALID_ARGUMENT);
});

test("GetUsers: one result per requested user, in order; none for none", T, async (t) => {
  const users = await serve(t, { log: () => {} });
  const wanted = [
    { username: "alexa", userId: 1 },
    { username: "christie", userId: 1 },
    { username: "zed", userId: 42 },
  ];
  const got = [];
  for await (const result of users.getUsers({ user: wanted })) got.push({ username: result.user?.username, userId: result.user?.userId });
  assert.deepEqual(got, wanted);
  const none = [];
  for await (const result of users.getUsers({ user: [] })) none.push(result);
  assert.deepEqual(none, []);
});

test("GetUsers with a stream delay stops waiting when the client cancels", T, async (t) => {
  const users = await serve(t, { log: () => {}, streamDelayMs: 10_000 });
  const abort = new AbortController();
  const started = Date.now();
  setTimeout(() => abort.abort(), 100);
  await assert.rejects(
    (async () => {
      for await (const _ of users.getUsers({ user: [{ username: "slow" }] }, { signal: abort.signal })) assert.fail("no result expected");
    })(),
    (err: unknown) => err instanceof RpcError && err.code === Code.CANCELLED,
  );
  assert.ok(Date.now() - started < 5000);
});
