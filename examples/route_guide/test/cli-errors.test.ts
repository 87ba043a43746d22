// The CLIs' error exits: what a user sees for a missing server, bad arguments, a bad database, a port in use.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { failOnLeakedHandles } from "../../../packages/tsgrpc/test/helpers/leak-check.js";
import { spawnProgram, startCliServer } from "./helpers/processes.js";

failOnLeakedHandles();

const T = { timeout: 45_000 };
const CLIENT = "examples/route_guide/dist/src/client.js";
const SERVER = "examples/route_guide/dist/src/server.js";

const dir = mkdtempSync(join(tmpdir(), "route-guide-cli-errors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const runClient = (t: TestContext, args: string[]) => spawnProgram(t, "route_guide client", CLIENT, args).waitForExit(30_000);
const runServer = (t: TestContext, args: string[]) => spawnProgram(t, "route_guide server", SERVER, args).waitForExit(30_000);

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test("client CLI: no server -> exit 1 naming the call and the status", T, async (t) => {
  const port = await freePort();
  const exit = await runClient(t, [`--target=127.0.0.1:${port}`, "--seed=1"]);
  assert.equal(exit.code, 1);
  assert.match(exit.stderr, new RegExp(`^route_guide client: GetFeature to 127\\.0\\.0\\.1:${port} failed: UNAVAILABLE: `, "m"));
});

test("client CLI: bad arguments, a missing database, --help", T, async (t) => {
  const [bad, unknown, missing, help] = await Promise.all([
    runClient(t, ["--seed=minus-one"]),
    runClient(t, ["--tagret=localhost:1"]),
    runClient(t, [`--db=${join(dir, "nope.json")}`]),
    runClient(t, ["--help"]),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--seed must be a non-negative integer, got "minus-one"/);
  assert.match(bad.stderr, /usage: route_guide client/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--tagret'/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read feature database .*nope\.json: ENOENT/);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--target=HOST:PORT/);
});

test("server CLI: a bad database, bad arguments, a port in use", T, async (t) => {
  const badDb = join(dir, "bad_db.json");
  writeFileSync(badDb, JSON.stringify([{ location: { latitude: 1, longitude: 2 }, name: "ok" }, { location: { latitude: 1e10, longitude: 0 }, name: "far" }]));
  const { port: taken } = await startCliServer(t);
  const [db, port, positional, inUse] = await Promise.all([
    runServer(t, ["--port=0", `--db=${badDb}`]),
    runServer(t, ["--port=70000"]),
    runServer(t, ["50051"]),
    runServer(t, [`--port=${taken}`]),
  ]);
  assert.equal(db.code, 1);
  assert.match(db.stderr, /invalid feature database .*bad_db\.json: entry 1: "location\.latitude" is 10000000000, outside/);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port must be an integer from 0 to 65535, got "70000"/);
  assert.match(port.stderr, /usage: route_guide server/);
  assert.equal(positional.code, 2);
  assert.match(positional.stderr, /Unexpected argument '50051'/);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`));
});
