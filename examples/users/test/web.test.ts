/**
 * The web app (the article's Flask app) over real HTTP on 127.0.0.1, in front of tsgrpc servers in this
 * process whose GetUsers behave as each test needs: streaming, waiting between results, failing.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { test, type TestContext } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, createChannel, createClient, createServer, RpcError, type ServerContext, type ServiceImplementation } from "tsgrpc";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { Users } from "../src/gen/users_pb.js";
import { GetUsersResultSchema, type GetUsersRequest, type GetUsersResult } from "../src/gen/users_types_pb.js";
import { httpStatusFor } from "../src/http-status.js";
import { createUsersService } from "../src/users-service.js";
import { createUsersWebApp } from "../src/web-app.js";
import { bodyLines, httpGet, parseNdjson, readBody } from "./helpers.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };

/** A tsgrpc server with `impl` on a free port; stopped when the test ends. */
async function startGrpc(t: TestContext, impl: ServiceImplementation<typeof Users>): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = createServer().addService(Users, impl);
  const port = await server.bind("127.0.0.1:0");
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= server.forceShutdown());
  t.after(stop);
  return { port, stop };
}

/** The web app on a free port, calling the gRPC server at `grpcPort`; both closed when the test ends. */
async function startWeb(t: TestContext, grpcPort: number, timeoutMs?: number): Promise<string> {
  const channel = createChannel(`127.0.0.1:${grpcPort}`);
  const log: string[] = [];
  const http = createHttpServer(createUsersWebApp({ users: createClient(Users, channel), timeoutMs, log: (l) => log.push(l) }));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    channel.close();
  });
  const address = http.address();
  assert.ok(address !== null && typeof address === "object");
  return `http://127.0.0.1:${address.port}`;
}

function result(username: string, userId = 1): GetUsersResult {
  return create(GetUsersResultSchema, { user: { username, userId } });
}

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects after `ms`, so a test that waits for something that never comes fails with a message. */
function within<V>(promise: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))),
  ]);
}

test("GET /users/ streams the article's two users as NDJSON, in order", T, async (t) => {
  const { port } = await startGrpc(t, createUsersService({ log: () => {} }));
  const base = await startWeb(t, port);
  const res = await httpGet(`${base}/users/`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["content-type"], "application/x-ndjson; charset=utf-8");
  assert.equal(res.headers["transfer-encoding"], "chunked");
  assert.equal(res.headers["content-length"], undefined);
  const body = await readBody(res);
  assert.equal(body, '{"user":{"username":"alexa","userId":1}}\n{"user":{"username":"christie","userId":1}}\n');
});

test("GET /users/?username=... streams one result per named user, in order", T, async (t) => {
  const { port } = await startGrpc(t, createUsersService({ log: () => {} }));
  const base = await startWeb(t, port);
  const names = ["zoe", "adam", "mia", "bob", "lee", "ann"];
  const res = await httpGet(`${base}/users?${names.map((n) => `username=${n}`).join("&")}`);
  assert.equal(res.statusCode, 200);
  assert.deepEqual(parseNdjson(await readBody(res)), names.map((username) => ({ user: { username, userId: 1 } })));
});

test("each result reaches the HTTP client as soon as it arrives: the first is read before the last is sent", T, async (t) => {
  // GetUsers sends its first result, then waits until the test has READ that result over HTTP.
  const firstRead = deferred();
  let sentAfterFirst = 0;
  const { port } = await startGrpc(t, {
    async *getUsers(request: GetUsersRequest, ctx: ServerContext) {
      const [first, ...rest] = request.user;
      yield result(first!.username);
      await Promise.race([firstRead.promise, new Promise((_, reject) => ctx.signal.addEventListener("abort", reject))]);
      for (const user of rest) {
        sentAfterFirst++;
        yield result(user.username);
      }
    },
  });
  const base = await startWeb(t, port);
  const res = await httpGet(`${base}/users/?username=first&username=second&username=third`);
  assert.equal(res.statusCode, 200);
  const lines = bodyLines(res);

  const one = await within(lines.next(), 5000, "the first result");
  assert.deepEqual(JSON.parse(one.value!.line), { user: { username: "first", userId: 1 } });
  assert.equal(sentAfterFirst, 0, "the first result came through while the server still held back the others");
  firstRead.resolve();

  const rest: unknown[] = [];
  for await (const { line } of lines) rest.push(JSON.parse(line));
  assert.deepEqual(rest, [{ user: { username: "second", userId: 1 } }, { user: { username: "third", userId: 1 } }]);
  assert.equal(sentAfterFirst, 2);
});

test("the example service's --stream-delay-ms spreads the results out in time", T, async (t) => {
  const { port } = await startGrpc(t, createUsersService({ log: () => {}, streamDelayMs: 300 }));
  const base = await startWeb(t, port);
  const res = await httpGet(`${base}/users/?username=a&username=b&username=c`);
  const times: number[] = [];
  for await (const { at } of bodyLines(res)) times.push(at);
  assert.equal(times.length, 3);
  assert.ok(times[2]! - times[0]! >= 450, `arrivals ${times.map((x) => x - times[0]!).join(", ")} ms apart`);
});

test("GetUsers failing with NOT_FOUND before any result: HTTP 404 with a JSON error body", T, async (t) => {
  const { port } = await startGrpc(t, {
    // eslint-disable-next-line require-yield
    async *getUsers() {
      throw new RpcError(Code.NOT_FOUND, "no user called alexa");
    },
  });
  const base = await startWeb(t, port);
  const res = await httpGet(`${base}/users/`);
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
  assert.deepEqual(JSON.parse(await readBody(res)), { error: { code: "NOT_FOUND", message: "no user called alexa" } });
});

test("gRPC server stopped: HTTP 503 UNAVAILABLE with a JSON error body", T, async (t) => {
  const { port, stop } = await startGrpc(t, createUsersService({ log: () => {} }));
  const base = await startWeb(t, port);
  // Works first (so the channel has a connection), then the server goes away.
  const ok = await httpGet(`${base}/users/`);
  assert.equal(ok.statusCode, 200);
  await readBody(ok);
  await stop();

  const res = await httpGet(`${base}/users/`);
  assert.equal(res.statusCode, 503);
  const body = JSON.parse(await readBody(res)) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "UNAVAILABLE");
  assert.equal(typeof body.error.message, "string");
});

test("GetUsers slower than the web app's timeout: HTTP 504 DEADLINE_EXCEEDED", T, async (t) => {
  const { port } = await startGrpc(t, {
    // eslint-disable-next-line require-yield
    async *getUsers(_request: GetUsersRequest, ctx: ServerContext) {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    },
  });
  const base = await startWeb(t, port, 300);
  const res = await httpGet(`${base}/users/`);
  assert.equal(res.statusCode, 504);
  const body = JSON.parse(await readBody(res)) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "DEADLINE_EXCEEDED");
  assert.equal(typeof body.error.message, "string");
});

test("an error after streaming started ends the stream with a final JSON error line", T, async (t) => {
  const { port } = await startGrpc(t, {
    async *getUsers(request: GetUsersRequest) {
      yield result(request.user[0]!.username);
      throw new RpcError(Code.ABORTED, "lookup aborted half-way");
    },
  });
  const base = await startWeb(t, port);
  const res = await httpGet(`${base}/users/`);
  assert.equal(res.statusCode, 200, "the status was sent with the first result");
  assert.deepEqual(parseNdjson(await readBody(res)), [
    { user: { username: "alexa", userId: 1 } },
    { error: { code: "ABORTED", message: "lookup aborted half-way" } },
  ]);
});

test("an HTTP client that goes away mid-stream cancels the gRPC call", T, async (t) => {
  const cancelled = deferred();
  const { port } = await startGrpc(t, {
    async *getUsers(request: GetUsersRequest, ctx: ServerContext) {
      ctx.signal.addEventListener("abort", () => cancelled.resolve());
      yield result(request.user[0]!.username);
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    },
  });
  const base = await startWeb(t, port);
  const res = await httpGet(`${base}/users/`);
  const lines = bodyLines(res);
  assert.ok((await within(lines.next(), 5000, "the first result")).value);
  res.destroy();
  await within(cancelled.promise, 5000, "the server seeing the call cancelled");
});

test("GET / explains the endpoint; other paths are 404 JSON; POST /users/ is 405", T, async (t) => {
  const { port } = await startGrpc(t, createUsersService({ log: () => {} }));
  const base = await startWeb(t, port);

  const index = await httpGet(`${base}/`);
  assert.equal(index.statusCode, 200);
  assert.equal(index.headers["content-type"], "text/html; charset=utf-8");
  assert.match(await readBody(index), /GET \/users\//);

  const missing = await httpGet(`${base}/nope`);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.headers["content-type"], "application/json; charset=utf-8");
  assert.deepEqual(JSON.parse(await readBody(missing)), { error: { code: "NOT_FOUND", message: "no such page: /nope" } });

  const post = await httpGet(`${base}/users/`, "POST");
  assert.equal(post.statusCode, 405);
  assert.equal(post.headers.allow, "GET");
  await readBody(post);
});

test("gRPC status -> HTTP status table", () => {
  const expected: Array<[Code, number]> = [
    [Code.OK, 200],
    [Code.CANCELLED, 499],
    [Code.UNKNOWN, 500],
    [Code.INVALID_ARGUMENT, 400],
    [Code.DEADLINE_EXCEEDED, 504],
    [Code.NOT_FOUND, 404],
    [Code.ALREADY_EXISTS, 409],
    [Code.PERMISSION_DENIED, 403],
    [Code.RESOURCE_EXHAUSTED, 429],
    [Code.FAILED_PRECONDITION, 400],
    [Code.ABORTED, 409],
    [Code.OUT_OF_RANGE, 400],
    [Code.UNIMPLEMENTED, 501],
    [Code.INTERNAL, 500],
    [Code.UNAVAILABLE, 503],
    [Code.DATA_LOSS, 500],
    [Code.UNAUTHENTICATED, 401],
  ];
  for (const [code, status] of expected) assert.equal(httpStatusFor(code), status, Code[code]);
});
