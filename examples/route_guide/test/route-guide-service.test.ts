// The service's semantics, called through a tsgrpc client over 127.0.0.1.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createPushable } from "tsgrpc";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { loadFeatures } from "../src/db.js";
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
  UNKNOWN_POINT,
} from "../src/demos.js";
import { FeatureSchema, type Feature, type PointSchema, type RouteNote, type RouteNoteSchema, type RouteSummary } from "../src/gen/route_guide_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { expectedChat, expectedFeature, expectedList, expectedSummary, plainFeature, plainNote, plainPoint, type P } from "./helpers/expected.js";
import { serveRouteGuide } from "./helpers/serve.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const E7 = 1e7;
const quiet = (): void => {};

const feature = (name: string, latitude: number, longitude: number): Feature =>
  create(FeatureSchema, { name, location: { latitude, longitude } });

/** A database with the awkward cases: unnamed entries, two features at one point, edges of the map. */
const DB: Feature[] = [
  feature("North Gate", 100, 100),
  feature("", 200, 200),
  feature("Twin A", 300, 300),
  feature("Twin B", 300, 300),
  feature("", 400, 400),
  feature("Behind An Unnamed One", 400, 400),
  feature("Edge West", 500, -1000),
  feature("Edge East", 500, 1000),
  feature("South Pole Station", -90 * E7, 0),
  feature("Date Line", 0, 180 * E7),
];
const plainDb = DB.map(plainFeature);

type PointInit = MessageInitShape<typeof PointSchema>;
const fieldsOf = ({ pointCount, featureCount, distance, elapsedTime }: RouteSummary) => ({ pointCount, featureCount, distance, elapsedTime });
type NoteInit = MessageInitShape<typeof RouteNoteSchema>;

test("GetFeature: the named feature at exactly the point, else an unnamed feature at the point", T, async (t) => {
  const { client } = await serveRouteGuide(t, DB);
  const cases: Array<[PointInit, string]> = [
    [{ latitude: 100, longitude: 100 }, "North Gate"],
    [{ latitude: 100, longitude: 101 }, ""], // one E7 unit off: nothing
    [{ latitude: 200, longitude: 200 }, ""], // an unnamed entry
    [{ latitude: 300, longitude: 300 }, "Twin A"], // the first of two
    [{ latitude: 400, longitude: 400 }, "Behind An Unnamed One"], // an unnamed entry does not hide a named one
    [{ latitude: -90 * E7, longitude: 0 }, "South Pole Station"],
    [{ latitude: 7, longitude: -7 }, ""],
    [{}, ""], // unset fields are 0
  ];
  for (const [point, name] of cases) {
    const got = await client.getFeature(point);
    assert.equal(got.$typeName, "routeguide.Feature");
    assert.deepEqual(plainFeature(got), { name, location: plainPoint(point) }, JSON.stringify(point));
    assert.deepEqual(plainFeature(got), expectedFeature(plainDb, plainPoint(point)));
  }
});

test("ListFeatures: named features in the rectangle, in database order, bounds inclusive, corners in any order", T, async (t) => {
  const { client } = await serveRouteGuide(t, DB);
  const list = async (lo: P, hi: P) => {
    const out = [];
    for await (const f of client.listFeatures({ lo, hi })) out.push(plainFeature(f));
    return out;
  };
  const names = (features: Array<{ name: string }>) => features.map((f) => f.name);

  const everything = await list({ latitude: -90 * E7, longitude: -180 * E7 }, { latitude: 90 * E7, longitude: 180 * E7 });
  assert.deepEqual(names(everything), ["North Gate", "Twin A", "Twin B", "Behind An Unnamed One", "Edge West", "Edge East", "South Pole Station", "Date Line"]);

  // The rectangle's edges pass exactly through Edge West and Edge East: both are inside.
  const lo = { latitude: 100, longitude: -1000 };
  const hi = { latitude: 500, longitude: 1000 };
  const expected = ["North Gate", "Twin A", "Twin B", "Behind An Unnamed One", "Edge West", "Edge East"];
  assert.deepEqual(names(await list(lo, hi)), expected);
  // Corners swapped in latitude, in longitude, in both: the same rectangle.
  assert.deepEqual(names(await list({ latitude: 500, longitude: -1000 }, { latitude: 100, longitude: 1000 })), expected);
  assert.deepEqual(names(await list({ latitude: 100, longitude: 1000 }, { latitude: 500, longitude: -1000 })), expected);
  assert.deepEqual(names(await list(hi, lo)), expected);
  assert.deepEqual(await list(lo, hi), expectedList(plainDb, lo, hi));

  // One E7 unit narrower on each side leaves the edges out.
  assert.deepEqual(names(await list({ latitude: 101, longitude: -999 }, { latitude: 499, longitude: 999 })), ["Twin A", "Twin B", "Behind An Unnamed One"]);
  // A rectangle that is a single point; one with only an unnamed entry; an empty area.
  assert.deepEqual(names(await list({ latitude: 300, longitude: 300 }, { latitude: 300, longitude: 300 })), ["Twin A", "Twin B"]);
  assert.deepEqual(await list({ latitude: 200, longitude: 200 }, { latitude: 200, longitude: 200 }), []);
  assert.deepEqual(await list({ latitude: 10 * E7, longitude: 10 * E7 }, { latitude: 20 * E7, longitude: 20 * E7 }), []);
  // An unset corner is (0, 0): latitude 0..100, longitude 0..180°.
  const fromOrigin = [];
  for await (const f of client.listFeatures({ hi: { latitude: 100, longitude: 180 * E7 } })) fromOrigin.push(f.name);
  assert.deepEqual(fromOrigin, ["North Gate", "Date Line"]);
});

test("RecordRoute: points, points at named features, whole metres along the route", T, async (t) => {
  const { client } = await serveRouteGuide(t, DB);
  const route: P[] = [
    { latitude: 100, longitude: 100 }, // North Gate
    { latitude: 200, longitude: 200 }, // unnamed: not a feature
    { latitude: 300, longitude: 300 }, // Twin A and B: one feature
    { latitude: 300, longitude: 300 }, // again: counted again
    { latitude: 400, longitude: 400 }, // named behind an unnamed entry
    { latitude: 12345678, longitude: -87654321 }, // nothing
    { latitude: 0, longitude: 180 * E7 }, // Date Line
  ];
  const summary = await client.recordRoute(route);
  assert.equal(summary.$typeName, "routeguide.RouteSummary");
  assert.deepEqual(fieldsOf(summary), { ...expectedSummary(plainDb, route), elapsedTime: 0 });
  assert.equal(summary.pointCount, 7);
  assert.equal(summary.featureCount, 5);
  assert.ok(summary.distance > 19_000_000 && summary.distance < 21_000_000, `distance ${summary.distance}`);

  const empty = await client.recordRoute([]);
  assert.deepEqual([empty.pointCount, empty.featureCount, empty.distance, empty.elapsedTime], [0, 0, 0, 0]);
  const one = await client.recordRoute([{ latitude: 100, longitude: 100 }]);
  assert.deepEqual([one.pointCount, one.featureCount, one.distance, one.elapsedTime], [1, 1, 0, 0]);

  // The distance is the sum of the legs as floats, truncated once at the end: legs of 0.6 m add up.
  const e7PerMetre = (180 * E7) / (Math.PI * 6_371_000); // E7 units of latitude per metre
  const step = Math.round(0.6 * e7PerMetre);
  const shortHops = Array.from({ length: 11 }, (_, i) => ({ latitude: i * step, longitude: 0 }));
  const hops = await client.recordRoute(shortHops);
  assert.equal(hops.distance, expectedSummary(plainDb, shortHops).distance);
  assert.ok(hops.distance >= 5 && hops.distance <= 6, `10 legs of ~0.6 m make ${hops.distance} m`);
});

test("RecordRoute: a distance beyond int32 is capped at 2^31-1 m rather than failing", T, async (t) => {
  const { client } = await serveRouteGuide(t, DB);
  // Half-way round the Earth and back, 110 times: about 2.2 * 10^9 m.
  const route = Array.from({ length: 111 }, (_, i) => ({ latitude: 0, longitude: i % 2 === 0 ? 0 : 180 * E7 }));
  const summary = await client.recordRoute(route);
  assert.equal(summary.distance, 2 ** 31 - 1);
  assert.equal(summary.pointCount, 111);
  assert.equal(summary.featureCount, 55);
});

test("RecordRoute: elapsed time is whole seconds from the first point to the last", T, async (t) => {
  const ticks = [5_000, 5_600, 7_999.9, 1_000_000];
  let i = 0;
  const { client } = await serveRouteGuide(t, DB, { now: () => ticks[i++]! });
  const summary = await client.recordRoute([{ latitude: 1 }, { latitude: 2 }, { latitude: 3 }]);
  assert.equal(summary.elapsedTime, 2, "2999.9 ms is 2 whole seconds");

  // With the real clock: two points 1.5 s apart (the middle of the 1 s window), then the end of the
  // stream 0.7 s later, which is not a point and does not count.
  const real = await serveRouteGuide(t, DB);
  const points = createPushable<PointInit>();
  const call = real.client.recordRoute(points);
  points.push({ latitude: 100, longitude: 100 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  points.push({ latitude: 300, longitude: 300 });
  await new Promise((resolve) => setTimeout(resolve, 700));
  points.end();
  const timed = await call;
  assert.equal(timed.elapsedTime, 1);
  assert.equal(timed.featureCount, 2);
});

test("RouteChat: each note brings back the earlier notes at its location, in order", T, async (t) => {
  const { client } = await serveRouteGuide(t, DB);
  const X = { latitude: 1, longitude: 2 };
  const Y = { latitude: 3, longitude: 4 };
  const notes: NoteInit[] = [
    { location: X, message: "x1" },
    { location: Y, message: "y1" },
    { location: X, message: "x2" },
    { location: { latitude: 2, longitude: 1 }, message: "swapped coordinates: elsewhere" },
    { location: X, message: "x3" },
    { message: "no location" },
    { location: { latitude: 0, longitude: 0 }, message: "origin" },
    { location: Y, message: "y2" },
  ];
  const got: RouteNote[] = [];
  for await (const note of client.routeChat(notes)) got.push(note);
  assert.deepEqual(got.map((n) => n.message), ["x1", "x1", "x2", "no location", "y1"]);
  assert.deepEqual(got.map(plainNote), expectedChat(notes.map(plainNote)));

  // Notes are kept per call: a new call starts with none.
  const again: string[] = [];
  for await (const note of client.routeChat([{ location: X, message: "new" }])) again.push(note.message);
  assert.deepEqual(again, []);
});

test("RouteChat: replies stream while the client is still sending", T, async (t) => {
  const { client } = await serveRouteGuide(t, DB);
  const X = { latitude: 10, longitude: 10 };
  const outgoing = createPushable<NoteInit>();
  const replies = client.routeChat(outgoing)[Symbol.asyncIterator]();
  outgoing.push({ location: X, message: "first" });
  outgoing.push({ location: X, message: "second" });
  assert.equal((await replies.next()).value?.message, "first");
  outgoing.push({ location: X, message: "third" });
  assert.equal((await replies.next()).value?.message, "first");
  assert.equal((await replies.next()).value?.message, "second");
  outgoing.end();
  assert.equal((await replies.next()).done, true);
});

test("demo functions: each call kind returns what the service answered and logs it", T, async (t) => {
  const db = loadFeatures();
  const plain = db.map(plainFeature);
  const { client } = await serveRouteGuide(t, db);
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  const known = db[0]!.location!;
  const features = await getFeatures(client, [known, UNKNOWN_POINT], log);
  assert.deepEqual(features.map(plainFeature), [expectedFeature(plain, plainPoint(known)), expectedFeature(plain, plainPoint(UNKNOWN_POINT))]);
  assert.deepEqual(lines, ['Feature called "Alder Ridge Hut" at 54.4168798, -2.8224988', "Found no feature at 0.0000000, 0.0000000"]);

  const listed = await listFeatures(client, DEMO_RECTANGLE, quiet);
  const expected = expectedList(plain, plainPoint(DEMO_RECTANGLE.lo), plainPoint(DEMO_RECTANGLE.hi));
  assert.ok(expected.length >= 5, "the demo rectangle holds several features");
  assert.deepEqual(listed.map(plainFeature), expected);

  const route = randomRoute(db, 10, seededRandom(99));
  assert.deepEqual(randomRoute(db, 10, seededRandom(99)), route, "a seed repeats the route");
  const summary = await recordRoute(client, route, quiet);
  assert.deepEqual(fieldsOf(summary), { ...expectedSummary(plain, route.map(plainPoint)), elapsedTime: 0 });

  const chat = await routeChat(client, DEMO_NOTES, quiet);
  assert.deepEqual(chat.map(plainNote), expectedChat(DEMO_NOTES.map(plainNote)));
  assert.ok(chat.length >= 3);
});

test("demo: runDemos runs all four against the shipped database", T, async (t) => {
  const db = loadFeatures();
  const { client } = await serveRouteGuide(t, db);
  const lines: string[] = [];
  const results = await runDemos(client, db, (line) => lines.push(line), { random: seededRandom(1), maxDelayMs: 0 });
  assert.equal(results.features[0]!.name, "Alder Ridge Hut");
  assert.equal(results.features[1]!.name, "");
  assert.equal(results.route.length, 10);
  assert.equal(results.summary.pointCount, 10);
  for (const call of ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"]) {
    assert.ok(lines.includes(`-------------- ${call} --------------`), call);
  }
});
