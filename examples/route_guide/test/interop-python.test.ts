// Interop with Python grpcio, both ways: the Python client against the tsgrpc service (in-process and the
// server CLI), and the example's client functions and client CLI against the Python server.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createChannel, createClient } from "tsgrpc";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { DEFAULT_DB_PATH, loadFeatures } from "../src/db.js";
import {
  DEMO_NOTES,
  DEMO_RECTANGLE,
  getFeatures,
  listFeatures,
  randomRoute,
  recordRoute,
  routeChat,
  runDemos,
  seededRandom,
  type RouteGuideClient,
} from "../src/demos.js";
import { FeatureSchema, RouteGuide } from "../src/gen/route_guide_pb.js";
import {
  assertCliOutput,
  EDGE_CASE_DB,
  expectedChat,
  expectedCliLines,
  expectedFeature,
  expectedList,
  expectedSummary,
  plainFeature,
  plainNote,
  plainPoint,
  summaryFields,
  type F,
  type N,
  type P,
} from "./helpers/expected.js";
import { spawnProgram, startCliServer, type Exit } from "./helpers/processes.js";
import { removePythonStubs, runPythonClient, skipWithoutPython, startPythonServer, type ClientRecord } from "./helpers/python.js";
import { serveRouteGuide } from "./helpers/serve.js";

failOnLeakedHandles();

const T = { timeout: 60_000 };
const quiet = (): void => {};

const dir = mkdtempSync(join(tmpdir(), "route-guide-interop-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  removePythonStubs();
});

/** EDGE_CASE_DB as a database file. */
const EDGE_DB_PATH = join(dir, "edge_case_db.json");
writeFileSync(EDGE_DB_PATH, JSON.stringify(EDGE_CASE_DB, null, 1));
const SHIPPED: F[] = loadFeatures(DEFAULT_DB_PATH).map(plainFeature);

/** The Python client's calls, checked one by one against the semantics for database `db`. */
function checkPythonClientRun(run: { exit: Exit; records: ClientRecord[]; done: boolean }, db: readonly F[]): void {
  assert.equal(run.exit.code, 0, `the Python client failed:\n${run.exit.stdout}\n${run.exit.stderr}`);
  assert.ok(run.done, "the Python client did not finish");
  const of = (call: ClientRecord["call"]) => run.records.filter((r) => r.call === call);

  const gets = of("GetFeature");
  assert.equal(gets.length, db.length + 2);
  for (const { label, request, response } of gets) {
    assert.deepEqual(response, expectedFeature(db, request as P), `GetFeature ${label}`);
  }
  assert.ok(gets.some((r) => r.response.name !== "") && gets.some((r) => r.response.name === ""));

  const lists = new Map(of("ListFeatures").map((r) => [r.label, r]));
  assert.deepEqual([...lists.keys()], ["all", "swapped-latitude", "swapped-longitude", "swapped-both", "single-point", "empty"]);
  for (const { label, request, response } of lists.values()) {
    assert.deepEqual(response, expectedList(db, request.lo as P, request.hi as P), `ListFeatures ${label}`);
  }
  assert.deepEqual(lists.get("all")!.response, db.filter((f) => f.name !== ""));
  assert.deepEqual(lists.get("swapped-longitude")!.response, lists.get("swapped-latitude")!.response);
  assert.deepEqual(lists.get("swapped-both")!.response, lists.get("swapped-latitude")!.response);
  assert.ok(lists.get("swapped-both")!.response.length >= 2, "corners on features are inside");
  assert.equal(lists.get("single-point")!.response.length >= 1, db[0]!.name !== "");
  assert.deepEqual(lists.get("empty")!.response, []);

  const routes = new Map(of("RecordRoute").map((r) => [r.label, r]));
  assert.deepEqual([...routes.keys()], ["route", "empty", "timed"]);
  const elapsed: Record<string, number> = { route: 0, empty: 0, timed: 1 }; // timed: 2 pauses of 0.75 s
  for (const { label, request, response } of routes.values()) {
    const got = { pointCount: response.point_count, featureCount: response.feature_count, distance: response.distance, elapsedTime: response.elapsed_time };
    assert.deepEqual(got, { ...expectedSummary(db, request as P[]), elapsedTime: elapsed[label] }, `RecordRoute ${label}`);
  }
  assert.equal(routes.get("route")!.response.point_count, Math.min(10, db.length) + 1);

  const chats = of("RouteChat");
  assert.equal(chats.length, 1);
  const chat = chats[0]!;
  assert.deepEqual(chat.response, expectedChat((chat.request as N[]).map(plainNote)));
  assert.ok(chat.response.length >= 4);
}

test("Python grpcio client -> tsgrpc RouteGuide service: all four call kinds", T, async (t) => {
  if (skipWithoutPython(t)) return;
  const { port } = await serveRouteGuide(t, loadFeatures(DEFAULT_DB_PATH));
  checkPythonClientRun(await runPythonClient(t, `127.0.0.1:${port}`, DEFAULT_DB_PATH), SHIPPED);
});

test("Python grpcio client -> the example's server CLI (edge-case database), then SIGTERM", T, async (t) => {
  if (skipWithoutPython(t)) return;
  const { child, port } = await startCliServer(t, [`--db=${EDGE_DB_PATH}`]);
  checkPythonClientRun(await runPythonClient(t, `127.0.0.1:${port}`, EDGE_DB_PATH), EDGE_CASE_DB);
  child.kill("SIGTERM");
  const exit = await child.waitForExit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /received SIGTERM: shutting down/);
  assert.match(exit.stdout, /RouteGuide server stopped/);
});

async function pythonServerClient(t: import("node:test").TestContext, db: string): Promise<RouteGuideClient> {
  const { port } = await startPythonServer(t, db);
  const channel = createChannel(`127.0.0.1:${port}`);
  t.after(() => channel.close());
  return createClient(RouteGuide, channel, { timeoutMs: 20_000 });
}

test("tsgrpc example client -> Python grpcio server: all four call kinds (edge-case database)", T, async (t) => {
  if (skipWithoutPython(t)) return;
  const client = await pythonServerClient(t, EDGE_DB_PATH);
  const db = EDGE_CASE_DB;

  // Unary: every database point, and points in no database.
  const points: P[] = [...db.map((f) => f.location), { latitude: 0, longitude: 0 }, { latitude: 1, longitude: -1 }];
  const lines: string[] = [];
  const features = await getFeatures(client, points, (line) => lines.push(line));
  assert.deepEqual(features.map(plainFeature), points.map((p) => expectedFeature(db, p)));
  assert.equal(features[1]!.name, "Twin A");
  assert.equal(features[4]!.name, "Behind An Unnamed One");
  assert.ok(lines.includes('Feature called "Ünïcödé Spring ☕" at -0.0000123, -0.0000456'));
  assert.ok(lines.includes("Found no feature at 0.0000001, -0.0000001"));

  // Server streaming: bounds inclusive, corners in any order.
  const rects: Array<[P, P]> = [
    [{ latitude: 100, longitude: -1000 }, { latitude: 500, longitude: 1000 }],
    [{ latitude: 500, longitude: -1000 }, { latitude: 100, longitude: 1000 }],
    [{ latitude: 100, longitude: 1000 }, { latitude: 500, longitude: -1000 }],
    [{ latitude: 500, longitude: 1000 }, { latitude: 100, longitude: -1000 }],
    [{ latitude: -900000000, longitude: -1800000000 }, { latitude: 900000000, longitude: 1800000000 }],
    [{ latitude: 200, longitude: 200 }, { latitude: 200, longitude: 200 }],
  ];
  for (const [lo, hi] of rects) {
    const listed = await listFeatures(client, { lo, hi }, quiet);
    assert.deepEqual(listed.map(plainFeature), expectedList(db, lo, hi), JSON.stringify({ lo, hi }));
  }
  assert.equal((await listFeatures(client, { lo: rects[3]![0], hi: rects[3]![1] }, quiet)).length, 6);

  // Client streaming: a route, an empty one, a timed one (two pauses of 0.75 s: 1.5 s, 1 whole second).
  const route: P[] = [...db.map((f) => f.location), { latitude: 5, longitude: 5 }, db[0]!.location];
  assert.deepEqual(summaryFields(await recordRoute(client, route, quiet)), { ...expectedSummary(db, route), elapsedTime: 0 });
  assert.deepEqual(summaryFields(await recordRoute(client, [], quiet)), { pointCount: 0, featureCount: 0, distance: 0, elapsedTime: 0 });
  const timedRoute = route.slice(0, 3);
  const timed = await recordRoute(client, timedRoute, quiet, { maxDelayMs: 751, random: () => 0.999 });
  assert.deepEqual(summaryFields(timed), { ...expectedSummary(db, timedRoute), elapsedTime: 1 });

  // Bidi: the demo's notes, and notes at the database points with one left without a location.
  const notes: N[] = [
    ...DEMO_NOTES.map(plainNote),
    { message: "a", location: db[1]!.location },
    { message: "b", location: { latitude: 0, longitude: 0 } },
    { message: "c", location: db[1]!.location },
  ];
  const chat = await routeChat(client, [...notes.slice(0, -2), { message: "b" }, notes.at(-1)!], quiet);
  assert.deepEqual(chat.map(plainNote), expectedChat(notes));
  assert.ok(chat.length >= 5);
});

test("tsgrpc runDemos -> Python grpcio server (shipped database)", T, async (t) => {
  if (skipWithoutPython(t)) return;
  const client = await pythonServerClient(t, DEFAULT_DB_PATH);
  const db = loadFeatures(DEFAULT_DB_PATH);
  const results = await runDemos(client, db, quiet, { random: seededRandom(2024), callOptions: { timeoutMs: 20_000 } });
  assert.deepEqual(results.features.map(plainFeature), [expectedFeature(SHIPPED, SHIPPED[0]!.location), expectedFeature(SHIPPED, { latitude: 0, longitude: 0 })]);
  assert.deepEqual(results.listed.map(plainFeature), expectedList(SHIPPED, plainPoint(DEMO_RECTANGLE.lo), plainPoint(DEMO_RECTANGLE.hi)));
  assert.deepEqual(results.route, randomRoute(db, 10, seededRandom(2024)));
  assert.deepEqual(summaryFields(results.summary), { ...expectedSummary(SHIPPED, results.route.map(plainPoint)), elapsedTime: 0 });
  assert.deepEqual(results.chat.map(plainNote), expectedChat(DEMO_NOTES.map(plainNote)));
  // The Python server answers with its own message objects; they decode into ours.
  assert.equal(results.features[0]!.$typeName, create(FeatureSchema).$typeName);
});

test("the example's client CLI -> Python grpcio server: output and exit status", T, async (t) => {
  if (skipWithoutPython(t)) return;
  const { port } = await startPythonServer(t, DEFAULT_DB_PATH);
  const child = spawnProgram(t, "route_guide client", "examples/route_guide/dist/src/client.js", [`--target=127.0.0.1:${port}`, "--seed=31337", "--max-delay-ms=0"]);
  const exit = await child.waitForExit(30_000);
  assert.equal(exit.code, 0, `client failed:\n${exit.stdout}\n${exit.stderr}`);
  assert.match(exit.stdout, new RegExp(`^RouteGuide client calling 127\\.0\\.0\\.1:${port} \\(route seed 31337\\)$`, "m"));
  const route = randomRoute(loadFeatures(DEFAULT_DB_PATH), 10, seededRandom(31337)).map(plainPoint);
  const rect = { lo: plainPoint(DEMO_RECTANGLE.lo), hi: plainPoint(DEMO_RECTANGLE.hi) };
  assertCliOutput(exit.stdout, expectedCliLines(SHIPPED, route, rect, DEMO_NOTES.map(plainNote)));
  assert.equal(exit.stderr, "");
});
