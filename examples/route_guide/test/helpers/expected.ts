// What RouteGuide must answer, written out plainly (linear scans, no shared code with the service) so the
// tests check the service and the Python peer against the semantics, not against themselves.
import assert from "node:assert/strict";
import { distanceMetres } from "../../src/geo.js";

export interface P {
  latitude: number;
  longitude: number;
}
export interface F {
  name: string;
  location: P;
}
export interface N {
  message: string;
  location: P;
}
export interface Summary {
  pointCount: number;
  featureCount: number;
  distance: number;
  elapsedTime: number;
}

/** Plain {latitude, longitude} of a message or init object (unset fields are 0). */
export const plainPoint = (p: { latitude?: number; longitude?: number } | undefined): P => ({
  latitude: p?.latitude ?? 0,
  longitude: p?.longitude ?? 0,
});
export const plainFeature = (f: { name?: string; location?: { latitude?: number; longitude?: number } }): F => ({
  name: f.name ?? "",
  location: plainPoint(f.location),
});
export const plainNote = (n: { message?: string; location?: { latitude?: number; longitude?: number } }): N => ({
  message: n.message ?? "",
  location: plainPoint(n.location),
});

const same = (a: P, b: P): boolean => a.latitude === b.latitude && a.longitude === b.longitude;

/** GetFeature: the first named feature at exactly the point, else an unnamed feature there. */
export function expectedFeature(db: readonly F[], point: P): F {
  for (const f of db) if (f.name !== "" && same(f.location, point)) return { name: f.name, location: point };
  return { name: "", location: point };
}

/** ListFeatures: named features within the rectangle, bounds inclusive, corners in any order. */
export function expectedList(db: readonly F[], lo: P, hi: P): F[] {
  const inside = (v: number, a: number, b: number): boolean => (a <= b ? a <= v && v <= b : b <= v && v <= a);
  return db.filter((f) => f.name !== "" && inside(f.location.latitude, lo.latitude, hi.latitude) && inside(f.location.longitude, lo.longitude, hi.longitude));
}

/** RecordRoute without the time: points, points at a named feature, whole metres along the route. */
export function expectedSummary(db: readonly F[], route: readonly P[]): Omit<Summary, "elapsedTime"> {
  let metres = 0;
  for (let i = 1; i < route.length; i++) metres += distanceMetres(route[i - 1]!, route[i]!);
  return {
    pointCount: route.length,
    featureCount: route.filter((p) => db.some((f) => f.name !== "" && same(f.location, p))).length,
    distance: Math.trunc(metres),
  };
}

/** RouteChat: for each note, the earlier notes at its location, in order. */
export function expectedChat(notes: readonly N[]): N[] {
  const out: N[] = [];
  notes.forEach((note, i) => {
    for (const earlier of notes.slice(0, i)) if (same(earlier.location, note.location)) out.push(earlier);
  });
  return out;
}

/** The four numbers of a RouteSummary message, without the message type. */
export const summaryFields = (s: Summary): Summary => ({
  pointCount: s.pointCount,
  featureCount: s.featureCount,
  distance: s.distance,
  elapsedTime: s.elapsedTime,
});

/**
 * A small database with the awkward cases: unnamed entries, two named features at one point, an unnamed
 * entry in front of a named one, features on the rectangle edges and the ends of the coordinate range.
 */
export const EDGE_CASE_DB: F[] = [
  { name: "North Gate", location: { latitude: 100, longitude: 100 } },
  { name: "Twin A", location: { latitude: 300, longitude: 300 } },
  { name: "", location: { latitude: 200, longitude: 200 } },
  { name: "Twin B", location: { latitude: 300, longitude: 300 } },
  { name: "", location: { latitude: 400, longitude: 400 } },
  { name: "Behind An Unnamed One", location: { latitude: 400, longitude: 400 } },
  { name: "Edge West", location: { latitude: 500, longitude: -1000 } },
  { name: "Edge East", location: { latitude: 500, longitude: 1000 } },
  { name: "South Pole Station", location: { latitude: -900000000, longitude: 0 } },
  { name: "Date Line", location: { latitude: 0, longitude: 1800000000 } },
  { name: "Ünïcödé Spring ☕", location: { latitude: -123, longitude: -456 } },
];

/**
 * The lines the CLI client (client.ts, run with `--max-delay-ms=0`) must print, after its first line, for a
 * server with `db`, a route and the demo's rectangle and notes.
 */
export function expectedCliLines(db: readonly F[], route: readonly P[], rect: { lo: P; hi: P }, notes: readonly N[]): string[] {
  const deg = (e7: number): string => {
    const abs = Math.abs(e7);
    return `${e7 < 0 ? "-" : ""}${Math.floor(abs / 1e7)}.${String(abs % 1e7).padStart(7, "0")}`;
  };
  const at = (p: P): string => `${deg(p.latitude)}, ${deg(p.longitude)}`;
  const firstNamed = db.find((f) => f.name !== "")!;
  const origin = { latitude: 0, longitude: 0 };
  const listed = expectedList(db, rect.lo, rect.hi);
  const summary = expectedSummary(db, route);
  return [
    "-------------- GetFeature --------------",
    `Feature called "${firstNamed.name}" at ${at(firstNamed.location)}`,
    expectedFeature(db, origin).name === "" ? `Found no feature at ${at(origin)}` : `Feature called "${expectedFeature(db, origin).name}" at ${at(origin)}`,
    "-------------- ListFeatures --------------",
    `Looking for features between ${at(rect.lo)} and ${at(rect.hi)}`,
    ...listed.map((f) => `  Feature called "${f.name}" at ${at(f.location)}`),
    `Found ${listed.length} feature(s)`,
    "-------------- RecordRoute --------------",
    ...route.map((p) => `Visiting point ${at(p)}`),
    `Finished trip with ${summary.pointCount} point(s)`,
    `Passed ${summary.featureCount} feature(s)`,
    `Travelled ${summary.distance} metres`,
    "It took 0 second(s)",
    "-------------- RouteChat --------------",
    ...notes.map((n) => `Sending message "${n.message}" at ${at(n.location)}`),
    ...expectedChat(notes).map((n) => `Got message "${n.message}" at ${at(n.location)}`),
    "All four calls succeeded.",
  ];
}

/**
 * Asserts the CLI client printed `expected` (from expectedCliLines). The bidi demo sends and receives at
 * the same time, so "Sending" and "Got" lines may interleave: each kind is compared in its own order.
 */
export function assertCliOutput(stdout: string, expected: readonly string[]): void {
  const actual = stdout.split("\n").filter((line) => line !== "" && !line.startsWith("RouteGuide client calling "));
  const kinds: Array<(line: string) => boolean> = [
    (line) => line.startsWith("Sending message "),
    (line) => line.startsWith("Got message "),
    (line) => !line.startsWith("Sending message ") && !line.startsWith("Got message "),
  ];
  for (const kind of kinds) assert.deepEqual(actual.filter(kind), expected.filter(kind));
}
