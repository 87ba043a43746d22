// The server and client CLIs as real processes: the client's demo against the server, the npm scripts and
// graceful shutdown. (The error exits are in cli-errors.test.ts.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createChannel, createClient, createPushable } from "tsgrpc";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { DEFAULT_DB_PATH, loadFeatures } from "../src/db.js";
import { DEMO_NOTES, DEMO_RECTANGLE, randomRoute, seededRandom } from "../src/demos.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RouteGuide, type RouteNoteSchema } from "../src/gen/route_guide_pb.js";
import { assertCliOutput, EDGE_CASE_DB, expectedCliLines, plainFeature, plainNote, plainPoint, type F } from "./helpers/expected.js";
import { spawnChild, spawnProgram, startCliServer, type Child } from "./helpers/processes.js";

failOnLeakedHandles();

const T = { timeout: 45_000 };
const CLIENT = "examples/route_guide/dist/src/client.js";

const dir = mkdtempSync(join(tmpdir(), "route-guide-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const EDGE_DB_PATH = join(dir, "edge_case_db.json");
writeFileSync(EDGE_DB_PATH, JSON.stringify(EDGE_CASE_DB));
const SHIPPED: F[] = loadFeatures(DEFAULT_DB_PATH).map(plainFeature);
const RECT = { lo: plainPoint(DEMO_RECTANGLE.lo), hi: plainPoint(DEMO_RECTANGLE.hi) };
const NOTES = DEMO_NOTES.map(plainNote);

/** What the client CLI must print for `db` and `seed` (the route comes from the client's own --db). */
function expectedOutput(db: F[], dbPath: string, seed: number): string[] {
  const route = randomRoute(loadFeatures(dbPath), 10, seededRandom(seed)).map(plainPoint);
  return expectedCliLines(db, route, RECT, NOTES);
}

async function runClient(t: import("node:test").TestContext, args: string[]) {
  return spawnProgram(t, "route_guide client", CLIENT, args).waitForExit(30_000);
}

test("client CLI -> server CLI: the four demos print what the database says, SIGTERM stops the server", T, async (t) => {
  const { child: server, port } = await startCliServer(t);
  assert.match(server.stdout, /\(40 features, 32 named, from .*route_guide_db\.json\)/);
  const exit = await runClient(t, [`--target=127.0.0.1:${port}`, "--seed=12345", "--max-delay-ms=0"]);
  assert.equal(exit.code, 0, `client failed:\n${exit.stdout}\n${exit.stderr}`);
  assert.match(exit.stdout, new RegExp(`^RouteGuide client calling 127\\.0\\.0\\.1:${port} \\(route seed 12345\\)\\n`));
  assertCliOutput(exit.stdout, expectedOutput(SHIPPED, DEFAULT_DB_PATH, 12345));
  assert.equal(exit.stderr, "");

  server.kill("SIGTERM");
  const stopped = await server.waitForExit();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /received SIGTERM: shutting down[^\n]*\nRouteGuide server stopped\n$/);
});

test("client CLI -> server CLI with --db and --host, stopped by SIGINT", T, async (t) => {
  const { child: server, port } = await startCliServer(t, ["--host=127.0.0.1", `--db=${EDGE_DB_PATH}`]);
  assert.match(server.stdout, /\(11 features, 9 named, from .*edge_case_db\.json\)/);
  const exit = await runClient(t, [`--target=127.0.0.1:${port}`, `--db=${EDGE_DB_PATH}`, "--seed=7", "--max-delay-ms=0"]);
  assert.equal(exit.code, 0, `client failed:\n${exit.stdout}\n${exit.stderr}`);
  assertCliOutput(exit.stdout, expectedOutput(EDGE_CASE_DB, EDGE_DB_PATH, 7));
  assert.match(exit.stdout, /Feature called "North Gate" at 0\.0000100, 0\.0000100/);

  server.kill("SIGINT");
  const stopped = await server.waitForExit();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /received SIGINT/);
});

test("server CLI: a call in flight finishes after SIGTERM (graceful shutdown)", T, async (t) => {
  const { child: server, port } = await startCliServer(t);
  const channel = createChannel(`127.0.0.1:${port}`);
  t.after(() => channel.close());
  const client = createClient(RouteGuide, channel, { timeoutMs: 20_000 });
  const here = { latitude: 1, longitude: 1 };
  const notes = createPushable<MessageInitShape<typeof RouteNoteSchema>>();
  const replies = client.routeChat(notes)[Symbol.asyncIterator]();
  notes.push({ location: here, message: "before 1" });
  notes.push({ location: here, message: "before 2" });
  assert.equal((await replies.next()).value?.message, "before 1"); // the call is running on the server

  server.kill("SIGTERM");
  await server.waitFor(/received SIGTERM/);
  notes.push({ location: here, message: "after" });
  notes.end();
  const rest: string[] = [];
  for (let r = await replies.next(); !r.done; r = await replies.next()) rest.push(r.value.message);
  assert.deepEqual(rest, ["before 1", "before 2"]);
  const stopped = await server.waitForExit();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /RouteGuide server stopped/);
});

test("npm scripts: route_guide:server and route_guide:client", T, async (t) => {
  const npm = spawnSync("npm", ["--version"], { encoding: "utf8" });
  if (npm.status !== 0) {
    t.skip(`npm not runnable here: ${npm.error?.message ?? npm.stderr}`);
    return;
  }
  // Detached: npm starts node through a shell, so the server is stopped by signalling the whole group.
  const server: Child = spawnChild(t, "npm run route_guide:server", "npm", ["run", "-s", "route_guide:server", "--", "--port=0", `--db=${EDGE_DB_PATH}`], { detached: true });
  const port = Number((await server.waitFor(/RouteGuide server listening on 127\.0\.0\.1:(\d+)/))[1]);
  const client = spawnChild(t, "npm run route_guide:client", "npm", ["run", "-s", "route_guide:client", "--", `--target=127.0.0.1:${port}`, `--db=${EDGE_DB_PATH}`, "--seed=1", "--max-delay-ms=0"]);
  const exit = await client.waitForExit(30_000);
  assert.equal(exit.code, 0, `${exit.stdout}\n${exit.stderr}`);
  assertCliOutput(exit.stdout, expectedOutput(EDGE_CASE_DB, EDGE_DB_PATH, 1));
  server.kill("SIGTERM", true);
  await server.waitFor(/RouteGuide server stopped/);
  await server.waitForExit();
});

