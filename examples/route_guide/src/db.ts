// The feature database: a JSON file in the format of the gRPC RouteGuide tutorial,
//   [{"location": {"latitude": 544168798, "longitude": -28224988}, "name": "Alder Ridge Hut"}, ...]
// loaded into Feature messages and validated, so that a bad file fails at start-up with a message that
// says which entry is wrong and why, not later with a confusing RPC error.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { FeatureSchema, type Feature } from "./gen/route_guide_pb.js";

/** The database shipped with the example. */
export const DEFAULT_DB_PATH = fileURLToPath(new URL("../route_guide_db.json", import.meta.url));

const LAT_LIMIT = 90 * 1e7;
const LON_LIMIT = 180 * 1e7;

/** A database file that cannot be read or is not a valid feature list. */
export class FeatureDbError extends Error {
  override readonly name = "FeatureDbError";
}

/** Reads and validates the database at `path`. Throws FeatureDbError with a precise message. */
export function loadFeatures(path: string = DEFAULT_DB_PATH): Feature[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new FeatureDbError(`cannot read feature database ${path}: ${(err as Error).message}`);
  }
  return parseFeatures(text, path);
}

/** Parses and validates database JSON; `source` names it in error messages. */
export function parseFeatures(text: string, source = "<input>"): Feature[] {
  const fail = (what: string): never => {
    throw new FeatureDbError(`invalid feature database ${source}: ${what}`);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) return fail(`expected a JSON array of features, got ${describe(data)}`);
  return data.map((entry: unknown, index) => {
    const at = `entry ${index}`;
    if (!isObject(entry)) return fail(`${at}: expected an object, got ${describe(entry)}`);
    for (const key of Object.keys(entry)) {
      if (key !== "location" && key !== "name") fail(`${at}: unknown field "${key}" (expected "location" and "name")`);
    }
    // A missing name means unnamed, as protobuf JSON leaves out empty strings.
    const name = entry.name ?? "";
    if (typeof name !== "string") fail(`${at}: "name" must be a string, got ${describe(name)}`);
    const location = entry.location;
    if (!isObject(location)) return fail(`${at}: "location" must be an object with latitude and longitude, got ${describe(location)}`);
    for (const key of Object.keys(location)) {
      if (key !== "latitude" && key !== "longitude") fail(`${at}: unknown field "location.${key}"`);
    }
    const latitude = coordinate(location.latitude, LAT_LIMIT, `${at}: "location.latitude"`, fail);
    const longitude = coordinate(location.longitude, LON_LIMIT, `${at}: "location.longitude"`, fail);
    return create(FeatureSchema, { name: name as string, location: { latitude, longitude } });
  });
}

function coordinate(value: unknown, limit: number, what: string, fail: (what: string) => never): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return fail(`${what} must be an integer (degrees times 10^7), got ${describe(value)}`);
  }
  if (value < -limit || value > limit) return fail(`${what} is ${value}, outside [-${limit}, ${limit}]`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`;
}
