import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { failOnLeakedHandles } from "../../tsgrpc/test/helpers/leak-check.js";

failOnLeakedHandles();

const root = fileURLToPath(new URL("../../..", import.meta.url));
const sharedProtos = join(root, "..", "shared", "protos");
const scratch = mkdtempSync(join(tmpdir(), "tsgrpc-cli-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the real `tsgrpc` command as a user would (`npx tsgrpc` resolves to this bin). */
function tsgrpc(...args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, "packages/cli/bin/tsgrpc.mjs"), ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe("tsgrpc generate", () => {
  test("writes messages and the service descriptor for route_guide.proto", { timeout: 60_000 }, () => {
    const out = join(scratch, "route_guide");
    const run = tsgrpc("generate", "-I", sharedProtos, "--out", out, join(sharedProtos, "route_guide.proto"));
    assert.equal(run.status, 0, run.stderr);
    const code = readFileSync(join(out, "route_guide_pb.ts"), "utf8");
    assert.match(code, /export const RouteGuide: GenService</);
    for (const message of ["Point", "Rectangle", "Feature", "RouteNote", "RouteSummary"]) {
      assert.match(code, new RegExp(`export type ${message} = Message<"routeguide\\.${message}">`));
    }
    assert.match(run.stdout, /wrote .*route_guide_pb\.ts/);
  });

  test("says when the generated code's runtime (@bufbuild/protobuf) cannot be resolved from the output folder", { timeout: 60_000 }, () => {
    // The system's temp folder belongs to no project: nothing there resolves @bufbuild/protobuf.
    const outside = tsgrpc("generate", "-I", sharedProtos, "--out", join(scratch, "no-project"), join(sharedProtos, "route_guide.proto"));
    assert.equal(outside.status, 0, outside.stderr);
    assert.match(outside.stderr, /imports @bufbuild\/protobuf, which .* cannot resolve: add it to your project \(npm install @bufbuild\/protobuf\)/);
    // Inside this workspace it resolves, and nothing is said.
    const inside = mkdtempSync(join(root, "packages/cli/.tmp-gen-"));
    try {
      const run = tsgrpc("generate", "-I", sharedProtos, "--out", inside, join(sharedProtos, "route_guide.proto"));
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stderr, "");
    } finally {
      rmSync(inside, { recursive: true, force: true });
    }
  });

  test("resolves imports across files, with the package-less service file of the Users example", { timeout: 60_000 }, () => {
    const out = join(scratch, "users");
    const run = tsgrpc("generate", `--proto_path=${sharedProtos}`, "-o", out, "users.proto", "users_types.proto");
    assert.equal(run.status, 0, run.stderr);
    const service = readFileSync(join(out, "users_pb.ts"), "utf8");
    assert.match(service, /from "\.\/users_types_pb\.js"/, "the service file imports the messages file");
    assert.match(service, /export const Users: GenService</);
    assert.match(readFileSync(join(out, "users_types_pb.ts"), "utf8"), /Message<"users\.CreateUserRequest">/);
  });

  test("well-known types are available without an include folder for them", { timeout: 60_000 }, () => {
    const dir = join(scratch, "wkt");
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "stamp.proto"), [
      'syntax = "proto3";',
      "package stamp;",
      'import "google/protobuf/timestamp.proto";',
      'import "google/protobuf/empty.proto";',
      "message Stamped { google.protobuf.Timestamp at = 1; }",
      "service Clock { rpc Now(google.protobuf.Empty) returns (Stamped); }",
    ].join("\n"));
    const run = tsgrpc("generate", "-I", dir, "--out", join(dir, "gen"), join(dir, "stamp.proto"));
    assert.equal(run.status, 0, run.stderr);
    assert.match(readFileSync(join(dir, "gen", "stamp_pb.ts"), "utf8"), /@bufbuild\/protobuf\/wkt/);
  });

  test("a broken .proto is reported as file:line:col: message with exit 1 and no stack trace", { timeout: 60_000 }, () => {
    const dir = join(scratch, "broken");
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "broken.proto"), 'syntax = "proto3";\n\nmessage Broken {\n  int32 id = 1\n}\n');
    const run = tsgrpc("generate", "-I", dir, "--out", join(dir, "gen"), join(dir, "broken.proto"));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /broken\.proto:5:1: .+/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    assert.doesNotMatch(run.stderr, /include\d+\//, "the temporary workspace does not leak into messages");
  });

  test("an unknown import type is reported with its position", { timeout: 60_000 }, () => {
    const dir = join(scratch, "unknown-type");
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "a.proto"), 'syntax = "proto3";\nmessage A { Missing m = 1; }\n');
    const run = tsgrpc("generate", "-I", dir, "--out", join(dir, "gen"), "a.proto");
    assert.equal(run.status, 1);
    assert.match(run.stderr, /a\.proto:2:\d+: .*Missing/);
  });

  test("usage errors: missing --out, missing file, no arguments", () => {
    const noOut = tsgrpc("generate", "x.proto");
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /--out/);
    const missing = tsgrpc("generate", "--out", join(scratch, "none"), join(scratch, "does-not-exist.proto"));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does-not-exist\.proto: file not found/);
    const bare = tsgrpc();
    assert.equal(bare.status, 2);
    assert.match(bare.stdout, /usage: tsgrpc generate/);
  });
});
