import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { DEFAULT_DB_PATH, FeatureDbError, loadFeatures, parseFeatures } from "../src/db.js";

failOnLeakedHandles();

const T = { timeout: 5_000 };
const dir = mkdtempSync(join(tmpdir(), "route-guide-db-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("db: the shipped database loads, with named and unnamed features at distinct points", T, () => {
  const features = loadFeatures(DEFAULT_DB_PATH);
  assert.equal(features.length, 40);
  assert.equal(features.filter((f) => f.name !== "").length, 32);
  assert.ok(features.every((f) => f.$typeName === "routeguide.Feature" && f.location !== undefined));
  const keys = new Set(features.map((f) => `${f.location!.latitude},${f.location!.longitude}`));
  assert.equal(keys.size, features.length, "every feature has its own point");
  assert.deepEqual(loadFeatures(), features, "the default path is the shipped database");
});

test("db: entries become Feature messages; a missing name means unnamed", T, () => {
  const features = parseFeatures(`[
    {"location": {"latitude": 1, "longitude": -2}, "name": "A"},
    {"location": {"latitude": 900000000, "longitude": -1800000000}},
    {"name": "", "location": {"longitude": 5, "latitude": 6}}
  ]`);
  assert.deepEqual(
    features.map((f) => [f.name, f.location?.latitude, f.location?.longitude]),
    [["A", 1, -2], ["", 900000000, -1800000000], ["", 6, 5]],
  );
  assert.deepEqual(parseFeatures("[]"), []);
});

test("db: a bad database fails with a message saying what and where", T, () => {
  const cases: Array<[string, RegExp]> = [
    ["{not json", /x\.json: not valid JSON/],
    [`{"location": {}}`, /expected a JSON array of features, got an object/],
    [`[1]`, /entry 0: expected an object, got number 1/],
    [`[{"location": {"latitude": 1, "longitude": 2}, "name": 7}]`, /entry 0: "name" must be a string, got number 7/],
    [`[{"name": "x"}]`, /entry 0: "location" must be an object .* got nothing/],
    [`[{"location": {"latitude": 1, "longitude": 2}, "name": "ok"}, {"location": {"latitude": "1", "longitude": 2}, "name": "x"}]`, /entry 1: "location.latitude" must be an integer .* got string "1"/],
    [`[{"location": {"latitude": 1.5, "longitude": 2}, "name": "x"}]`, /entry 0: "location.latitude" must be an integer/],
    [`[{"location": {"latitude": 1}, "name": "x"}]`, /entry 0: "location.longitude" must be an integer .* got nothing/],
    [`[{"location": {"latitude": 900000001, "longitude": 0}, "name": "x"}]`, /"location.latitude" is 900000001, outside \[-900000000, 900000000\]/],
    [`[{"location": {"latitude": 0, "longitude": -1800000001}, "name": "x"}]`, /"location.longitude" is -1800000001, outside/],
    [`[{"location": {"latitude": 0, "longitude": 0}, "title": "x"}]`, /entry 0: unknown field "title"/],
    [`[{"location": {"lat": 0, "longitude": 0}, "name": "x"}]`, /entry 0: unknown field "location.lat"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseFeatures(text, "x.json"), (err: unknown) => {
      assert.ok(err instanceof FeatureDbError, `not a FeatureDbError: ${String(err)}`);
      assert.match(err.message, /^invalid feature database x\.json: /);
      assert.match(err.message, message);
      return true;
    }, text);
  }
});

test("db: loadFeatures names the file it cannot read or parse", T, () => {
  assert.throws(() => loadFeatures(join(dir, "missing.json")), /cannot read feature database .*missing\.json: ENOENT/);
  const bad = join(dir, "bad.json");
  writeFileSync(bad, "[{]");
  assert.throws(() => loadFeatures(bad), new RegExp(`invalid feature database ${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: not valid JSON`));
});
