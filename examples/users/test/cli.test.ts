/**
 * The example's three programs as real processes, compiled: `node examples/users/dist/src/*.js` and the root
 * npm scripts users:server, users:client and users:web, with their output checked.
 */
import assert from "node:assert/strict";
import { createServer as createNetServer } from "node:net";
import { test, type TestContext } from "node:test";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import {
  bodyLines,
  httpGet,
  loggedDeadlines,
  loggedMetadata,
  readBody,
  startExample,
  startExampleServer,
  startNpmScript,
  Proc,
  type Exit,
} from "./helpers.js";

failOnLeakedHandles();

const T = { timeout: 45_000 };

function track<P extends Proc | { proc: Proc }>(t: TestContext, started: P): P {
  const proc = started instanceof Proc ? started : started.proc;
  t.after(() => proc.stop());
  return started;
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}

/**
 * SIGTERM goes to the whole process group of an npm script: the node program shuts down gracefully and
 * exits 0, while npm itself may end by the signal.
 */
function assertStoppedBySigterm(exit: Exit, proc: Proc): void {
  assert.ok(exit.code === 0 || (exit.code === null && exit.signal === "SIGTERM"), `${JSON.stringify(exit)}\n${proc.describe()}`);
}

const ARTICLE_OUTPUT = [
  "User created: tom (user_id 1)",
  "GetUsers (2 user(s)):",
  "  user: alexa (user_id 1)",
  "  user: christie (user_id 1)",
  "GetUsers done: 2 result(s)",
];

test("CLI client against CLI server: the article's calls, metadata logged, graceful stop on SIGTERM", T, async (t) => {
  const { proc: server, port } = track(t, await startExampleServer());

  const client = track(t, startExample("client", [`--target=127.0.0.1:${port}`]));
  assert.equal((await client.waitForExit()).code, 0, client.describe());
  assert.deepEqual(client.stdoutLines, ARTICLE_OUTPUT);
  assert.equal(client.stderr, "");

  const second = track(t, startExample("client", [`--target=127.0.0.1:${port}`, "--username=jerry", "--users=c,b,a"]));
  assert.equal((await second.waitForExit()).code, 0, second.describe());
  assert.deepEqual(second.stdoutLines, [
    "User created: jerry (user_id 2)",
    "GetUsers (3 user(s)):",
    "  user: c (user_id 1)",
    "  user: b (user_id 1)",
    "  user: a (user_id 1)",
    "GetUsers done: 3 result(s)",
  ]);

  await server.waitForLine(/^GetUsers for 3 user/);
  const metadata = loggedMetadata(server.stdoutLines);
  assert.equal(metadata.length, 2, server.describe());
  for (const m of metadata) {
    assert.deepEqual(m.ip, ["127.0.0.1"]);
    assert.match(m["user-agent"]![0]!, /tsgrpc/);
  }
  for (const left of loggedDeadlines(server.stdoutLines)) assert.ok(left > 20 && left <= 30, `deadline ${left} s left`);

  server.kill("SIGTERM");
  const exit = await server.waitForExit(10_000);
  assert.equal(exit.code, 0, server.describe());
  assert.ok(server.stdoutLines.includes("Users server stopped"), server.describe());
});

test("CLI client with no server to talk to: clear error on stderr, exit status 1", T, async (t) => {
  const port = await freePort();
  const client = track(t, startExample("client", [`--target=127.0.0.1:${port}`]));
  assert.equal((await client.waitForExit()).code, 1, client.describe());
  assert.deepEqual(client.stdoutLines, []);
  assert.match(client.stderr, new RegExp(`^error: call to the Users server at 127\\.0\\.0\\.1:${port} failed: UNAVAILABLE: `, "m"));
});

test("bad command lines: usage error, exit status 2", T, async (t) => {
  const runs = [
    track(t, startExample("client", ["--bogus=1"])),
    track(t, startExample("server", ["--port=99999"])),
    track(t, startExample("web", ["--port"])),
  ];
  for (const run of runs) {
    assert.equal((await run.waitForExit()).code, 2, run.describe());
    assert.match(run.stderr, /^error: /, run.describe());
  }
});

test("npm run users:server / users:web / users:client: NDJSON streamed over real HTTP, errors as HTTP statuses", T, async (t) => {
  // The gRPC server waits 300 ms before each GetUsers result, so the stream can be watched arriving.
  const server = track(t, startNpmScript("server", ["--port=0", "--stream-delay-ms=300"]));
  const grpcPort = Number((await server.waitForLine(/^Users server listening on 127\.0\.0\.1:(\d+)$/))[1]);
  const web = track(t, startNpmScript("web", ["--port=0", `--target=127.0.0.1:${grpcPort}`]));
  const httpPort = Number((await web.waitForLine(/^Users web app listening on http:\/\/127\.0\.0\.1:(\d+)\/ /))[1]);
  const base = `http://127.0.0.1:${httpPort}`;

  const client = track(t, startNpmScript("client", [`--target=127.0.0.1:${grpcPort}`]));
  assert.equal((await client.waitForExit()).code, 0, client.describe());
  assert.deepEqual(client.stdoutLines, ARTICLE_OUTPUT);

  const res = await httpGet(`${base}/users/?username=ann&username=bob&username=carol`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["content-type"], "application/x-ndjson; charset=utf-8");
  assert.equal(res.headers["transfer-encoding"], "chunked");
  const got: Array<{ line: string; at: number }> = [];
  for await (const line of bodyLines(res)) got.push(line);
  assert.deepEqual(
    got.map((g) => JSON.parse(g.line) as unknown),
    ["ann", "bob", "carol"].map((username) => ({ user: { username, userId: 1 } })),
  );
  const spread = got[2]!.at - got[0]!.at;
  assert.ok(spread >= 450, `the first result arrived ${spread} ms before the last (expected ~600): streamed, not buffered`);
  await web.waitForLine(/^GET \/users\/\?username=ann&username=bob&username=carol -> 200, 3 result\(s\)$/);

  // The gRPC server stops (gracefully, on SIGTERM): the web app now answers 503 with a JSON error.
  server.kill("SIGTERM");
  assertStoppedBySigterm(await server.waitForExit(10_000), server);
  assert.ok(server.stdoutLines.includes("Users server stopped"), server.describe());
  const down = await httpGet(`${base}/users/`);
  assert.equal(down.statusCode, 503);
  const body = JSON.parse(await readBody(down)) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "UNAVAILABLE");

  web.kill("SIGTERM");
  assertStoppedBySigterm(await web.waitForExit(10_000), web);
  assert.ok(web.stdoutLines.includes("Users web app stopped"), web.describe());
});
