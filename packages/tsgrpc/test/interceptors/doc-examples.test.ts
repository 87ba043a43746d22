// The examples of docs/interceptors.md, as written there, run against a real server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { performance } from "node:perf_hooks";
import {
  Code,
  codeName,
  createChannel,
  createClient,
  mapResponses,
  RpcError,
  type ClientInterceptor,
  type ServerInterceptor,
} from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { collect, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { until } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

// ---- docs/interceptors.md: logging ----------------------------------------------------------------------

const lines: string[] = [];
const log = (line: string): void => void lines.push(line);

const clientLogging: ClientInterceptor = (next) => async (call) => {
  const started = performance.now();
  log(`-> ${call.method} (${call.kind})`);
  const result = await next(call);
  void result.status.then((status) =>
    log(`<- ${call.method} ${codeName(status.code)} in ${(performance.now() - started).toFixed(1)} ms`),
  );
  return result;
};

const serverLogging: ServerInterceptor = (next) => (call) => {
  const started = performance.now();
  void call.status.then((status) =>
    log(`${call.peer} ${call.method} ${codeName(status.code)} ${(performance.now() - started).toFixed(1)} ms`),
  );
  return next(call);
};

// ---- docs/interceptors.md: auth check -------------------------------------------------------------------

const TOKENS = new Map([["s3cret", "alice"]]);

const requireToken: ServerInterceptor = (next) => (call) => {
  if (call.method.startsWith("/grpc.health.v1.Health/")) return next(call); // open to all
  const header = call.metadata.getString("authorization") ?? "";
  const user = TOKENS.get(header.replace(/^Bearer /, ""));
  if (user === undefined) throw new RpcError(Code.UNAUTHENTICATED, "a valid bearer token is required");
  call.context.setTrailers({ "x-user": user });
  return next(call);
};

const sendToken = (token: string): ClientInterceptor => (next) => (call) => {
  call.metadata.set("authorization", `Bearer ${token}`);
  return next(call);
};

// ---- docs/interceptors.md: metrics ----------------------------------------------------------------------

/** calls and total milliseconds per "method code", and messages sent per method. */
const metrics = { calls: new Map<string, number>(), millis: new Map<string, number>(), messages: new Map<string, number>() };
const add = (map: Map<string, number>, key: string, n: number): void => void map.set(key, (map.get(key) ?? 0) + n);

const serverMetrics: ServerInterceptor = (next) => async (call) => {
  const started = performance.now();
  void call.status.then((status) => {
    const key = `${call.method} ${codeName(status.code)}`;
    add(metrics.calls, key, 1);
    add(metrics.millis, key, performance.now() - started);
  });
  return mapResponses(await next(call), (response) => {
    add(metrics.messages, call.method, 1);
    return response;
  });
};

// ---- the checks -------------------------------------------------------------------------------------

test("docs/interceptors.md: logging, auth check and metrics work as described", T, async (t) => {
  const { port } = await serve(t, undefined, { interceptors: [serverLogging, serverMetrics, requireToken] });

  const channel = createChannel(`127.0.0.1:${port}`, undefined, { interceptors: [clientLogging, sendToken("s3cret")] });
  t.after(() => channel.close());
  const echo = createClient(Echo, channel);
  const call = echo.unary({ message: "hi" });
  assert.equal((await call).message, "hi");
  assert.equal((await call.trailers).get("x-user"), "alice");
  assert.equal((await collect(echo.serverStream({ message: "s", count: 3 }))).length, 3);

  const anonymous = createChannel(`127.0.0.1:${port}`, undefined, { interceptors: [clientLogging] });
  t.after(() => anonymous.close());
  await rejectsWith(createClient(Echo, anonymous).unary({ message: "who?" }), Code.UNAUTHENTICATED, /bearer token/);

  await until(() => lines.length === 9, 5000, "nine log lines");
  assert.ok(lines.includes("-> /tsgrpc.test.Echo/Unary (unary)"));
  assert.ok(lines.some((l) => /^<- \/tsgrpc\.test\.Echo\/Unary UNAUTHENTICATED in /.test(l)));
  assert.ok(lines.some((l) => /^ipv4:127\.0\.0\.1:\d+ \/tsgrpc\.test\.Echo\/ServerStream OK /.test(l)));

  assert.equal(metrics.calls.get("/tsgrpc.test.Echo/Unary OK"), 1);
  assert.equal(metrics.calls.get("/tsgrpc.test.Echo/Unary UNAUTHENTICATED"), 1);
  assert.equal(metrics.calls.get("/tsgrpc.test.Echo/ServerStream OK"), 1);
  assert.equal(metrics.messages.get("/tsgrpc.test.Echo/ServerStream"), 3);
});
