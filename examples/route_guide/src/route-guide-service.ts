// The RouteGuide service: the four call kinds of the gRPC basics tutorial over a feature database.
// Kept apart from the server CLI so tests (and other programs) can host it on their own server.
import { create } from "@bufbuild/protobuf";
import type { ServiceImplementation } from "tsgrpc";
import {
  FeatureSchema,
  RouteGuide,
  type Feature,
  type Point,
  type Rectangle,
  type RouteNote,
  type RouteSummary,
} from "./gen/route_guide_pb.js";
import { distanceMetres, type E7Point } from "./geo.js";

const INT32_MAX = 2 ** 31 - 1;

export interface RouteGuideOptions {
  /** Monotonic clock in milliseconds, for RecordRoute's elapsed time (default: performance.now). */
  now?: () => number;
}

const keyOf = (point: E7Point | undefined): string => `${point?.latitude ?? 0},${point?.longitude ?? 0}`;

/**
 * Lookups over a feature list. Entries with an empty name mean "nothing known here": they are never
 * listed and never count as a feature.
 */
export class FeatureIndex {
  private readonly named = new Map<string, Feature>();
  readonly features: readonly Feature[];

  constructor(features: readonly Feature[]) {
    this.features = [...features];
    for (const feature of features) {
      const key = keyOf(feature.location);
      if (feature.name !== "" && !this.named.has(key)) this.named.set(key, feature);
    }
  }

  /** The first named feature at exactly `point`, if any. */
  namedAt(point: E7Point | undefined): Feature | undefined {
    return this.named.get(keyOf(point));
  }

  /** What GetFeature answers: the named feature at `point`, or an unnamed feature there. */
  featureAt(point: E7Point | undefined): Feature {
    return this.namedAt(point) ?? create(FeatureSchema, { name: "", location: { latitude: point?.latitude ?? 0, longitude: point?.longitude ?? 0 } });
  }

  /** Named features inside `rect` (bounds inclusive, corners in any order), in database order. */
  *inRectangle(rect: Pick<Rectangle, "lo" | "hi">): Generator<Feature> {
    const lo = rect.lo ?? { latitude: 0, longitude: 0 };
    const hi = rect.hi ?? { latitude: 0, longitude: 0 };
    const south = Math.min(lo.latitude, hi.latitude);
    const north = Math.max(lo.latitude, hi.latitude);
    const west = Math.min(lo.longitude, hi.longitude);
    const east = Math.max(lo.longitude, hi.longitude);
    for (const feature of this.features) {
      const { latitude = 0, longitude = 0 } = feature.location ?? {};
      if (feature.name !== "" && latitude >= south && latitude <= north && longitude >= west && longitude <= east) {
        yield feature;
      }
    }
  }
}

/**
 * RecordRoute's running totals, point by point: how many points, how many of them at a named feature,
 * the great-circle distance along the route, and the time from the first point to the last.
 */
export class RouteRecorder {
  private points = 0;
  private features = 0;
  private metres = 0;
  private previous: Point | undefined;
  private firstAtMs = 0;
  private lastAtMs = 0;

  constructor(private readonly index: FeatureIndex) {}

  /** Adds `point`, which arrived at `atMs` (a monotonic clock in milliseconds). */
  add(point: Point, atMs: number): void {
    if (this.points === 0) this.firstAtMs = atMs;
    this.lastAtMs = atMs;
    this.points++;
    if (this.index.namedAt(point)) this.features++;
    if (this.previous) this.metres += distanceMetres(this.previous, point);
    this.previous = point;
  }

  /** The summary so far: distance in whole metres, elapsed time in whole seconds (truncated). */
  summary(): Omit<RouteSummary, "$typeName"> {
    return {
      pointCount: Math.min(this.points, INT32_MAX),
      featureCount: Math.min(this.features, INT32_MAX),
      distance: Math.min(Math.trunc(this.metres), INT32_MAX),
      elapsedTime: Math.min(Math.trunc((this.lastAtMs - this.firstAtMs) / 1000), INT32_MAX),
    };
  }
}

/** The RouteGuide implementation over `features`, for `server.addService(RouteGuide, ...)`. */
export function createRouteGuideService(features: readonly Feature[], options: RouteGuideOptions = {}): ServiceImplementation<typeof RouteGuide> {
  const index = new FeatureIndex(features);
  const now = options.now ?? (() => performance.now());
  return {
    // Unary: the feature at exactly that point, or an unnamed one there.
    async getFeature(point) {
      return index.featureAt(point);
    },

    // Server streaming: the named features inside the rectangle, in database order.
    async *listFeatures(rect, ctx) {
      for (const feature of index.inRectangle(rect)) {
        if (ctx.signal.aborted) return;
        yield feature;
      }
    },

    // Client streaming: a summary of the route once the client has sent all of it.
    async recordRoute(points) {
      const recorder = new RouteRecorder(index);
      for await (const point of points) recorder.add(point, now());
      return recorder.summary();
    },

    // Bidi: for each note, every earlier note of this call at the same location, then the note is kept.
    async *routeChat(notes) {
      const byLocation = new Map<string, RouteNote[]>();
      for await (const note of notes) {
        const key = keyOf(note.location);
        const earlier = byLocation.get(key) ?? [];
        for (const previous of earlier) yield previous;
        earlier.push(note);
        byLocation.set(key, earlier);
      }
    },
  };
}
