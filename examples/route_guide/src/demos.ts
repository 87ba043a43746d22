// The client side of the tutorial: one function per call kind, each printing what it does through `log`
// and returning what it got, so the CLI (client.ts) prints them and tests check them.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { RpcError, type CallOptions, type Client } from "tsgrpc";
import {
  PointSchema,
  RouteGuide,
  RouteNoteSchema,
  type Feature,
  type Point,
  type RectangleSchema,
  type RouteNote,
  type RouteSummary,
} from "./gen/route_guide_pb.js";
import { formatPoint } from "./geo.js";

export type RouteGuideClient = Client<typeof RouteGuide>;
export type PointInit = MessageInitShape<typeof PointSchema>;
export type RectangleInit = MessageInitShape<typeof RectangleSchema>;
export type RouteNoteInit = MessageInitShape<typeof RouteNoteSchema>;
export type Log = (line: string) => void;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded random generator (mulberry32), so a run can be repeated with the same route. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Simple RPC: the feature at each point ("no feature" when the name comes back empty). */
export async function getFeatures(client: RouteGuideClient, points: readonly PointInit[], log: Log, options?: CallOptions): Promise<Feature[]> {
  const features: Feature[] = [];
  for (const point of points) {
    const feature = await client.getFeature(point, options);
    if (feature.name !== "") log(`Feature called "${feature.name}" at ${formatPoint(feature.location)}`);
    else log(`Found no feature at ${formatPoint(feature.location)}`);
    features.push(feature);
  }
  return features;
}

/** Response-streaming RPC: every named feature inside the rectangle, printed as it arrives. */
export async function listFeatures(client: RouteGuideClient, rect: RectangleInit, log: Log, options?: CallOptions): Promise<Feature[]> {
  log(`Looking for features between ${formatPoint(rect.lo)} and ${formatPoint(rect.hi)}`);
  const features: Feature[] = [];
  for await (const feature of client.listFeatures(rect, options)) {
    log(`  Feature called "${feature.name}" at ${formatPoint(feature.location)}`);
    features.push(feature);
  }
  log(`Found ${features.length} feature(s)`);
  return features;
}

/** `count` points picked at random (with repeats) from the database locations. */
export function randomRoute(features: readonly Feature[], count: number, random: () => number): Point[] {
  if (features.length === 0) throw new Error("cannot pick a random route from an empty feature database");
  return Array.from({ length: count }, () => {
    const feature = features[Math.floor(random() * features.length)]!;
    return create(PointSchema, feature.location);
  });
}

/** Request-streaming RPC: sends the route, pausing up to `maxDelayMs` (at random) between points. */
export async function recordRoute(
  client: RouteGuideClient,
  route: readonly PointInit[],
  log: Log,
  options: CallOptions & { maxDelayMs?: number; random?: () => number } = {},
): Promise<RouteSummary> {
  const { maxDelayMs = 0, random = Math.random, ...callOptions } = options;
  async function* points(): AsyncGenerator<PointInit> {
    for (const [i, point] of route.entries()) {
      if (i > 0 && maxDelayMs > 0) await sleep(Math.floor(random() * maxDelayMs));
      log(`Visiting point ${formatPoint(point)}`);
      yield point;
    }
  }
  const summary = await client.recordRoute(points(), callOptions);
  log(`Finished trip with ${summary.pointCount} point(s)`);
  log(`Passed ${summary.featureCount} feature(s)`);
  log(`Travelled ${summary.distance} metres`);
  log(`It took ${summary.elapsedTime} second(s)`);
  return summary;
}

/** Bidirectional streaming RPC: sends the notes and, at the same time, prints the notes coming back. */
export async function routeChat(
  client: RouteGuideClient,
  notes: readonly RouteNoteInit[],
  log: Log,
  options: CallOptions & { delayMs?: number } = {},
): Promise<RouteNote[]> {
  const { delayMs = 0, ...callOptions } = options;
  async function* outgoing(): AsyncGenerator<RouteNote> {
    for (const [i, init] of notes.entries()) {
      if (i > 0 && delayMs > 0) await sleep(delayMs);
      const note = create(RouteNoteSchema, init);
      log(`Sending message "${note.message}" at ${formatPoint(note.location)}`);
      yield note;
    }
  }
  const received: RouteNote[] = [];
  for await (const note of client.routeChat(outgoing(), callOptions)) {
    log(`Got message "${note.message}" at ${formatPoint(note.location)}`);
    received.push(note);
  }
  return received;
}

// ---- the demo the CLI runs ------------------------------------------------------------------------

/** A point surely not in the shipped database (nor, most likely, in any other). */
export const UNKNOWN_POINT: PointInit = { latitude: 0, longitude: 0 };

/** The rectangle the demo lists: the middle of the shipped database's valley. */
export const DEMO_RECTANGLE: RectangleInit = {
  lo: { latitude: 544000000, longitude: -31000000 },
  hi: { latitude: 546000000, longitude: -28000000 },
};

/** Notes at three places; some come back because an earlier note was left at the same place. */
export const DEMO_NOTES: readonly RouteNoteInit[] = [
  { location: { latitude: 544168798, longitude: -28224988 }, message: "Starting at the hut" },
  { location: { latitude: 545761642, longitude: -28152297 }, message: "Bridge is icy" },
  { location: { latitude: 544168798, longitude: -28224988 }, message: "Hut has fresh water" },
  { location: { latitude: 546634024, longitude: -30065482 }, message: "Great view from the cairn" },
  { location: { latitude: 545761642, longitude: -28152297 }, message: "Bridge gritted now" },
  { location: { latitude: 544168798, longitude: -28224988 }, message: "Back at the hut" },
];

export interface DemoOptions {
  /** Random source for the route (default Math.random). */
  random?: () => number;
  /** How many points RecordRoute sends (default 10). */
  routePoints?: number;
  /** Longest pause between route points, in ms (default 0). */
  maxDelayMs?: number;
  /** Options of every call (e.g. a timeout). */
  callOptions?: CallOptions;
}

export interface DemoResults {
  features: Feature[];
  listed: Feature[];
  route: Point[];
  summary: RouteSummary;
  chat: RouteNote[];
}

/** A demo call that failed: which one, and the status it failed with. */
export class DemoFailure extends Error {
  override readonly name = "DemoFailure";
  constructor(
    readonly call: string,
    readonly error: RpcError,
  ) {
    super(`${call} failed: ${error.message}`, { cause: error });
  }
}

async function step<T>(call: string, log: Log, run: () => Promise<T>): Promise<T> {
  log(`-------------- ${call} --------------`);
  try {
    return await run();
  } catch (err) {
    throw err instanceof RpcError ? new DemoFailure(call, err) : err;
  }
}

/**
 * The tutorial's four demos in a row; `database` is where the known point and the route come from.
 * A failed call rejects with a DemoFailure naming it.
 */
export async function runDemos(client: RouteGuideClient, database: readonly Feature[], log: Log, options: DemoOptions = {}): Promise<DemoResults> {
  const random = options.random ?? Math.random;
  const callOptions = options.callOptions ?? {};
  const known = database.find((f) => f.name !== "")?.location ?? database[0]?.location ?? UNKNOWN_POINT;
  const features = await step("GetFeature", log, () => getFeatures(client, [known, UNKNOWN_POINT], log, callOptions));
  const listed = await step("ListFeatures", log, () => listFeatures(client, DEMO_RECTANGLE, log, callOptions));
  const route = randomRoute(database, options.routePoints ?? 10, random);
  const summary = await step("RecordRoute", log, () =>
    recordRoute(client, route, log, { ...callOptions, maxDelayMs: options.maxDelayMs ?? 0, random }),
  );
  const chat = await step("RouteChat", log, () => routeChat(client, DEMO_NOTES, log, callOptions));
  return { features, listed, route, summary, chat };
}
