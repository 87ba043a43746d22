/**
 * The Users example against Python grpcio, both ways: the tsgrpc example server called by the article's
 * Python client, and the article's Python server called by the tsgrpc example client and web app.
 * Every peer is a real process on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test, type TestContext } from "node:test";
import { createChannel, createClient } from "tsgrpc";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { Users } from "../src/gen/users_pb.js";
import { createUsersWebApp } from "../src/web-app.js";
import {
  bodyLines,
  generatePythonStubs,
  httpGet,
  loggedDeadlines,
  loggedMetadata,
  parseNdjson,
  pythonUnavailableReason,
  readBody,
  startExample,
  startExampleServer,
  startPythonPeer,
  startPythonServer,
  Proc,
} from "./helpers.js";

failOnLeakedHandles();

const T = { timeout: 45_000 };
const unavailable = pythonUnavailableReason();
let stubs: { dir: string; remove: () => void } | undefined;

before(() => {
  if (unavailable === undefined) stubs = generatePythonStubs();
});
after(() => stubs?.remove());

/** The stubs folder, or skips the test when python3-grpcio is missing. */
function pythonOrSkip(t: TestContext): string | undefined {
  if (unavailable !== undefined || stubs === undefined) {
    t.skip(`python3-grpcio not installed: ${unavailable ?? "no stubs"}`);
    return undefined;
  }
  return stubs.dir;
}

/** Stops the process (if still running) when the test ends, pass or fail. */
function track<P extends Proc | { proc: Proc }>(t: TestContext, started: P): P {
  const proc = started instanceof Proc ? started : started.proc;
  t.after(() => proc.stop());
  return started;
}

test("tsgrpc example server <- Python grpcio client: CreateUser with metadata and timeout, GetUsers in order", T, async (t) => {
  const dir = pythonOrSkip(t);
  if (dir === undefined) return;
  const { proc: server, port } = track(t, await startExampleServer());

  const client = track(t, startPythonPeer(dir, "users_client.py", ["--target", `127.0.0.1:${port}`, "--users", "alexa,christie,ann,bob,carol"]));
  const exit = await client.waitForExit();
  assert.equal(exit.code, 0, client.describe());
  const lines = client.stdoutLines.map((l) => JSON.parse(l) as unknown);
  assert.deepEqual(lines, [
    { call: "CreateUser", result: { user: { username: "tom", userId: 1 } } },
    ...["alexa", "christie", "ann", "bob", "carol"].map((username) => ({ call: "GetUsers", result: { user: { username, userId: 1 } } })),
  ]);

  // A second sign-up gets the next id; this one sends another ip.
  const second = track(t, startPythonPeer(dir, "users_client.py", ["--target", `127.0.0.1:${port}`, "--username", "jerry", "--users", "", "--ip", "10.1.2.3"]));
  assert.equal((await second.waitForExit()).code, 0, second.describe());
  assert.deepEqual(JSON.parse(second.stdoutLines[0]!), { call: "CreateUser", result: { user: { username: "jerry", userId: 2 } } });
  assert.equal(second.stdoutLines.length, 1, "GetUsers for no users streams nothing");

  // The server logged each call's metadata: the ip the client set, and grpcio's user-agent.
  await server.waitForLine(/^CreateUser metadata: .*10\.1\.2\.3/);
  const metadata = loggedMetadata(server.stdoutLines);
  assert.equal(metadata.length, 2, server.describe());
  assert.deepEqual(metadata[0]!.ip, ["127.0.0.1"]);
  assert.deepEqual(metadata[1]!.ip, ["10.1.2.3"]);
  assert.match(metadata[0]!["user-agent"]![0]!, /^grpc-python\//);
  // ... and the 30 s timeout arrived as the call's deadline.
  const deadlines = loggedDeadlines(server.stdoutLines);
  assert.equal(deadlines.length, 2, server.describe());
  for (const left of deadlines) assert.ok(left > 20 && left <= 30.2, `deadline ${left} s left`);
  assert.match(server.stdout, /GetUsers for 5 user\(s\) from ipv4:127\.0\.0\.1:\d+/);
});

test("Python grpcio server <- tsgrpc example client: CreateUser with metadata and timeout, GetUsers in order", T, async (t) => {
  const dir = pythonOrSkip(t);
  if (dir === undefined) return;
  const { proc: server, port } = track(t, await startPythonServer(dir));

  const client = track(t, startExample("client", [`--target=127.0.0.1:${port}`, "--users=alexa,christie,ann,bob,carol"]));
  const exit = await client.waitForExit();
  assert.equal(exit.code, 0, client.describe());
  assert.deepEqual(client.stdoutLines, [
    "User created: tom (user_id 1)",
    "GetUsers (5 user(s)):",
    "  user: alexa (user_id 1)",
    "  user: christie (user_id 1)",
    "  user: ann (user_id 1)",
    "  user: bob (user_id 1)",
    "  user: carol (user_id 1)",
    "GetUsers done: 5 result(s)",
  ]);

  const second = track(t, startExample("client", [`--target=127.0.0.1:${port}`, "--username=jerry", "--ip=10.9.8.7"]));
  assert.equal((await second.waitForExit()).code, 0, second.describe());
  assert.equal(second.stdoutLines[0], "User created: jerry (user_id 2)");

  await server.waitForLine(/^CreateUser metadata: .*10\.9\.8\.7/);
  const metadata = loggedMetadata(server.stdoutLines);
  assert.equal(metadata.length, 2, server.describe());
  assert.deepEqual(metadata[0]!.ip, ["127.0.0.1"]);
  assert.deepEqual(metadata[1]!.ip, ["10.9.8.7"]);
  assert.match(metadata[0]!["user-agent"]![0]!, /tsgrpc/);
  const deadlines = loggedDeadlines(server.stdoutLines);
  assert.equal(deadlines.length, 2, server.describe());
  for (const left of deadlines) assert.ok(left > 20 && left <= 30, `deadline ${left} s left`);
});

test("Python grpcio server failing GetUsers <- tsgrpc example client: clear error, exit status 1", T, async (t) => {
  const dir = pythonOrSkip(t);
  if (dir === undefined) return;
  const { port } = track(t, await startPythonServer(dir, ["--fail-get-users", "NOT_FOUND"]));
  const client = track(t, startExample("client", [`--target=127.0.0.1:${port}`]));
  const exit = await client.waitForExit();
  assert.equal(exit.code, 1, client.describe());
  assert.equal(client.stdoutLines[0], "User created: tom (user_id 1)");
  assert.match(client.stderr, /^error: call to the Users server at 127\.0\.0\.1:\d+ failed: NOT_FOUND: GetUsers fails on purpose$/m);
});

test("tsgrpc example server <- Python grpcio client: an empty username is INVALID_ARGUMENT", T, async (t) => {
  const dir = pythonOrSkip(t);
  if (dir === undefined) return;
  const { port } = track(t, await startExampleServer());
  const client = track(t, startPythonPeer(dir, "users_client.py", ["--target", `127.0.0.1:${port}`, "--username", ""]));
  assert.equal((await client.waitForExit()).code, 1, client.describe());
  assert.deepEqual(JSON.parse(client.stdoutLines[0]!), {
    call: "CreateUser",
    error: { code: "INVALID_ARGUMENT", details: "username must not be empty" },
  });
});

/** The web app (in this process) in front of a channel to `port`; closes both after the test. */
async function webAppFor(t: TestContext, port: number): Promise<string> {
  const channel = createChannel(`127.0.0.1:${port}`);
  const http = createServer(createUsersWebApp({ users: createClient(Users, channel) }));
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

test("web app -> Python grpcio server: GET /users/ streams each result as it arrives", T, async (t) => {
  const dir = pythonOrSkip(t);
  if (dir === undefined) return;
  const { port } = track(t, await startPythonServer(dir, ["--stream-delay", "0.4"]));
  const base = await webAppFor(t, port);

  const started = Date.now();
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
  // The server sleeps 0.4 s before each result: the lines arrive spread out, not all at the end.
  assert.ok(got[0]!.at - started < got[2]!.at - started - 500, `arrival times ${got.map((g) => g.at - started).join(", ")} ms`);
});

test("web app -> Python grpcio server failing with NOT_FOUND: HTTP 404 with a JSON error", T, async (t) => {
  const dir = pythonOrSkip(t);
  if (dir === undefined) return;
  const { port } = track(t, await startPythonServer(dir, ["--fail-get-users", "NOT_FOUND"]));
  const base = await webAppFor(t, port);
  const res = await httpGet(`${base}/users/`);
  assert.equal(res.statusCode, 404);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  assert.deepEqual(parseNdjson(await readBody(res)), [{ error: { code: "NOT_FOUND", message: "GetUsers fails on purpose" } }]);
});
