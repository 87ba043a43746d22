// Great-circle distance between two points given in the E7 representation of route_guide.proto
// (degrees multiplied by 10^7), by the haversine formula on a sphere of radius 6371 km.

/** Mean Earth radius used by RouteGuide, in metres. */
export const EARTH_RADIUS_M = 6_371_000;

/** Degrees are stored multiplied by this factor. */
export const COORD_FACTOR = 1e7;

/** Anything with E7 coordinates; unset fields count as 0, as in proto3. */
export interface E7Point {
  readonly latitude?: number;
  readonly longitude?: number;
}

const toRadians = (e7: number): number => ((e7 / COORD_FACTOR) * Math.PI) / 180;

/** Great-circle distance from `a` to `b` in metres (a float; RecordRoute truncates the sum). */
export function distanceMetres(a: E7Point, b: E7Point): number {
  const lat1 = toRadians(a.latitude ?? 0);
  const lat2 = toRadians(b.latitude ?? 0);
  const dLat = lat2 - lat1;
  const dLon = toRadians(b.longitude ?? 0) - toRadians(a.longitude ?? 0);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  const c = 2 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
  return EARTH_RADIUS_M * c;
}

/** Degrees as text, e.g. "54.4168798" (for printing E7 values). */
export function formatDegrees(e7: number): string {
  const sign = e7 < 0 ? "-" : "";
  const abs = Math.abs(e7);
  return `${sign}${Math.trunc(abs / COORD_FACTOR)}.${String(abs % COORD_FACTOR).padStart(7, "0")}`;
}

/** "lat, lon" in degrees. */
export function formatPoint(point: E7Point | undefined): string {
  return `${formatDegrees(point?.latitude ?? 0)}, ${formatDegrees(point?.longitude ?? 0)}`;
}
