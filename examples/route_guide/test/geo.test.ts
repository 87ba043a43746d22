import assert from "node:assert/strict";
import { test } from "node:test";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { distanceMetres, EARTH_RADIUS_M, formatDegrees, formatPoint } from "../src/geo.js";

failOnLeakedHandles();

const T = { timeout: 5_000 };
const E7 = 1e7;
const close = (actual: number, expected: number, tolerance = 1e-6): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

test("geo: the same point is 0 m away", T, () => {
  assert.equal(distanceMetres({ latitude: 544168798, longitude: -28224988 }, { latitude: 544168798, longitude: -28224988 }), 0);
  assert.equal(distanceMetres({}, {}), 0);
});

test("geo: one degree along a meridian is R·π/180", T, () => {
  close(distanceMetres({ latitude: 0, longitude: 0 }, { latitude: 1 * E7, longitude: 0 }), (EARTH_RADIUS_M * Math.PI) / 180);
  close(distanceMetres({ latitude: 50 * E7, longitude: 7 * E7 }, { latitude: 51 * E7, longitude: 7 * E7 }), 111194.92664455873);
});

test("geo: a quarter of the equator and half a great circle", T, () => {
  close(distanceMetres({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 90 * E7 }), (EARTH_RADIUS_M * Math.PI) / 2);
  close(distanceMetres({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 * E7 }), EARTH_RADIUS_M * Math.PI);
  close(distanceMetres({ latitude: 90 * E7, longitude: 0 }, { latitude: -90 * E7, longitude: 123 * E7 }), EARTH_RADIUS_M * Math.PI);
  // Crossing the antimeridian takes the short way round.
  close(distanceMetres({ latitude: 0, longitude: 179 * E7 }, { latitude: 0, longitude: -179 * E7 }), (EARTH_RADIUS_M * Math.PI * 2) / 180);
});

test("geo: agrees with the spherical law of cosines and is symmetric", T, () => {
  const pairs: Array<[number, number, number, number]> = [
    [544168798, -28224988, 546634024, -30065482],
    [409146138, -740962647, 407838351, -746143763],
    [-338688197, 1512092955, 515072178, -1275920],
  ];
  for (const [lat1, lon1, lat2, lon2] of pairs) {
    const a = { latitude: lat1, longitude: lon1 };
    const b = { latitude: lat2, longitude: lon2 };
    const rad = (e7: number) => (e7 / E7) * (Math.PI / 180);
    const cosines =
      EARTH_RADIUS_M *
      Math.acos(Math.sin(rad(lat1)) * Math.sin(rad(lat2)) + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.cos(rad(lon2) - rad(lon1)));
    close(distanceMetres(a, b), cosines, 1e-3);
    assert.equal(distanceMetres(a, b), distanceMetres(b, a));
  }
});

test("geo: E7 values print as degrees", T, () => {
  assert.equal(formatDegrees(544168798), "54.4168798");
  assert.equal(formatDegrees(-28224988), "-2.8224988");
  assert.equal(formatDegrees(-5), "-0.0000005");
  assert.equal(formatDegrees(0), "0.0000000");
  assert.equal(formatDegrees(-1800000000), "-180.0000000");
  assert.equal(formatPoint(undefined), "0.0000000, 0.0000000");
  assert.equal(formatPoint({ latitude: 1, longitude: -10000000 }), "0.0000001, -1.0000000");
});
