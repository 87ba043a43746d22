// `tsgrpc generate --target / --import-extension / --module`: which files are written, what is in them,
// and that the generated JavaScript really loads in node (ESM through import(), CommonJS through require())
// and its schemas work with @bufbuild/protobuf.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseGenerateArgs, pluginOptions, UsageError } from "../src/args.js";
import { failOnLeakedHandles } from "../../tsgrpc/test/helpers/leak-check.js";

failOnLeakedHandles();

const root = fileURLToPath(new URL("../../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "tsgrpc-cli-targets-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
// Generated code imports @bufbuild/protobuf; node finds it from the temporary folder through this link.
symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"), "dir");

// Two files in different folders, one importing the other and a well-known type.
const protos = join(scratch, "protos");
mkdirSync(join(protos, "demo", "types"), { recursive: true });
writeFileSync(join(protos, "demo", "types", "point.proto"), [
  'syntax = "proto3";',
  "package demo.types;",
  "message Point { int32 x = 1; int32 y = 2; }",
  "enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; }",
].join("\n"));
writeFileSync(join(protos, "demo", "plotter.proto"), [
  'syntax = "proto3";',
  "package demo;",
  'import "demo/types/point.proto";',
  'import "google/protobuf/timestamp.proto";',
  "message Stamped { demo.types.Point point = 1; google.protobuf.Timestamp at = 2; string label = 3; demo.types.Color color = 4; }",
  "service Plotter { rpc Plot(demo.types.Point) returns (Stamped); }",
].join("\n"));
const PROTO_FILES = ["demo/plotter.proto", "demo/types/point.proto"];

/** Runs the real `tsgrpc` command as a user would (`npx tsgrpc` resolves to this bin). */
function tsgrpc(...args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, "packages/cli/bin/tsgrpc.mjs"), ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Generates the two protos into scratch/`name` with `flags`; checks that exactly `expected` was written and reported. */
function generateInto(name: string, flags: string[], expected: string[]): string {
  const out = join(scratch, name);
  const run = tsgrpc("generate", "-I", protos, "--out", out, ...flags, ...PROTO_FILES);
  assert.equal(run.status, 0, run.stderr);
  const reported = run.stdout
    .split("\n")
    .filter((line) => line.startsWith("wrote "))
    .map((line) => relative(out, line.slice("wrote ".length)).split(sep).join("/"));
  assert.deepEqual(reported, expected, "the files reported, in the order the protos were named");
  assert.deepEqual(filesUnder(out), [...expected].sort(), "the files on disk");
  return out;
}

function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix))
    .flatMap((name) => {
      const path = prefix === "" ? name : `${prefix}/${name}`;
      return statSync(join(dir, path)).isDirectory() ? filesUnder(dir, path) : [path];
    })
    .sort();
}

const read = (out: string, file: string): string => readFileSync(join(out, file), "utf8");

const TS_FILES = ["demo/plotter_pb.ts", "demo/types/point_pb.ts"];
const JS_FILES = ["demo/plotter_pb.js", "demo/types/point_pb.js"];
const DTS_FILES = ["demo/plotter_pb.d.ts", "demo/types/point_pb.d.ts"];
const JS_DTS_FILES = ["demo/plotter_pb.js", "demo/plotter_pb.d.ts", "demo/types/point_pb.js", "demo/types/point_pb.d.ts"];

function assertTypeScript(code: string): void {
  assert.match(code, /^export const file_demo_plotter: GenFile = /m);
  assert.match(code, /^export type Stamped = Message<"demo\.Stamped">/m);
  assert.match(code, /^export const StampedSchema: GenMessage<Stamped> = /m);
  assert.match(code, /\bfileDesc\(/);
  assert.doesNotMatch(code, /\bdeclare\b|\brequire\(/);
}

function assertJavaScript(code: string, module: "esm" | "commonjs"): void {
  assert.match(code, /\bfileDesc\("/);
  assert.doesNotMatch(code, /: Gen(File|Message|Service)\b|^import type |^export (declare |type )/m, "no TypeScript syntax");
  if (module === "esm") {
    assert.match(code, /^export const StampedSchema = /m);
    assert.match(code, /^import \{[^}]*\bfileDesc\b[^}]*\} from "@bufbuild\/protobuf\/codegenv2";$/m);
    assert.doesNotMatch(code, /\brequire\(|\bexports\./);
  } else {
    assert.match(code, /^exports\.StampedSchema = StampedSchema;$/m);
    assert.match(code, /^const \{[^}]*\bfileDesc\b[^}]*\} = require\("@bufbuild\/protobuf\/codegenv2"\);$/m);
    assert.doesNotMatch(code, /^(import|export) /m, "no ES module syntax");
  }
}

function assertDeclarations(code: string): void {
  assert.match(code, /^export declare const file_demo_plotter: GenFile;$/m);
  assert.match(code, /^export declare type Stamped = Message<"demo\.Stamped">/m);
  assert.match(code, /^export declare const StampedSchema: GenMessage<Stamped>;$/m);
  assert.match(code, /^export declare const Plotter: GenService</m);
  assert.doesNotMatch(code, /\bfileDesc\(|\brequire\(|@__PURE__/, "no code, only declarations");
}

/**
 * The import of the sibling file (demo/types/point.proto) from demo/plotter's generated file, with
 * exactly `extension`; the well-known type is a package import that keeps no extension.
 */
function assertImports(code: string, extension: ".js" | ".ts" | "", style: "import" | "require"): void {
  const quoted = (spec: string): string => `"${spec.replace(/[./]/g, (c) => `\\${c}`)}"`;
  const lead = style === "import" ? "from " : "require\\(";
  assert.match(code, new RegExp(`${lead}${quoted(`./types/point_pb${extension}`)}`), `imports ./types/point_pb${extension}`);
  const others = ["", ".js", ".ts"].filter((e) => e !== extension).map((e) => quoted(`./types/point_pb${e}`));
  assert.doesNotMatch(code, new RegExp(others.join("|")), "no other spelling of the sibling import");
  assert.match(code, new RegExp(`${lead}"@bufbuild/protobuf/wkt"`), "the Timestamp comes from @bufbuild/protobuf/wkt");
  assert.doesNotMatch(code, /@bufbuild\/protobuf\/wkt\.[jt]s/);
}

/** What the round trip below prints: both loaders must give this. */
const ROUND_TRIP_RESULT = {
  equal: true,
  json: { point: { x: 3, y: -4 }, at: "2023-11-14T22:13:20.000000005Z", label: "here", color: "COLOR_RED" },
  typeName: "demo.Stamped",
  serviceInputIsPointSchema: true,
  redIsOne: true,
};
const ROUND_TRIP = `
const message = create(plotter.StampedSchema, {
  point: { x: 3, y: -4 }, at: { seconds: 1700000000n, nanos: 5 }, label: "here", color: point.Color.RED,
});
const back = fromBinary(plotter.StampedSchema, toBinary(plotter.StampedSchema, message));
console.log(JSON.stringify({
  equal: equals(plotter.StampedSchema, message, back),
  json: toJson(plotter.StampedSchema, back),
  typeName: plotter.StampedSchema.typeName,
  serviceInputIsPointSchema: plotter.Plotter.method.plot.input === point.PointSchema,
  redIsOne: point.Color.RED === 1,
}));`;

/** Loads the generated JavaScript in `out` in a fresh node, the way its module style says, and runs the round trip. */
function roundTrip(out: string, module: "esm" | "commonjs"): unknown {
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: module === "esm" ? "module" : "commonjs" }));
  const file = (name: string): string => JSON.stringify(join(out, name));
  const fileUrl = (name: string): string => JSON.stringify(pathToFileURL(join(out, name)).href);
  const script =
    module === "esm"
      ? `import { create, equals, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
const plotter = await import(${fileUrl("demo/plotter_pb.js")});
const point = await import(${fileUrl("demo/types/point_pb.js")});
${ROUND_TRIP}`
      : `const { create, equals, fromBinary, toBinary, toJson } = require("@bufbuild/protobuf");
const plotter = require(${file("demo/plotter_pb.js")});
const point = require(${file("demo/types/point_pb.js")});
${ROUND_TRIP}`;
  // cwd: the scratch folder, whose node_modules link the script's own @bufbuild/protobuf import resolves through.
  const flags = module === "esm" ? ["--input-type=module"] : ["--input-type=commonjs"];
  const run = spawnSync(process.execPath, [...flags, "-e", script], { cwd: scratch, encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 0, `loading the generated ${module} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe("tsgrpc generate --target / --import-extension / --module", () => {
  test("--target ts (protoc-gen-es's spelling with a space) with --import-extension ts", { timeout: 60_000 }, () => {
    const out = generateInto("ts-ts", ["--target", "ts", "--import-extension", "ts"], TS_FILES);
    const code = read(out, "demo/plotter_pb.ts");
    assertTypeScript(code);
    assertImports(code, ".ts", "import");
    assert.match(code, /^\/\/ @generated by protoc-gen-es v[\d.]+ with parameter "target=ts,import_extension=ts"$/m);
  });

  test("--target=ts with --import-extension=none, for bundlers", { timeout: 60_000 }, () => {
    const out = generateInto("ts-none", ["--target=ts", "--import-extension=none"], TS_FILES);
    const code = read(out, "demo/plotter_pb.ts");
    assertTypeScript(code);
    assertImports(code, "", "import");
  });

  test("--target=js writes ES modules only, with .js imports, that load with import()", { timeout: 60_000 }, () => {
    const out = generateInto("js-esm", ["--target=js"], JS_FILES);
    const code = read(out, "demo/plotter_pb.js");
    assertJavaScript(code, "esm");
    assert.match(read(out, "demo/types/point_pb.js"), /^export const PointSchema = \/\*@__PURE__\*\/$/m);
    assertImports(code, ".js", "import");
    assert.deepEqual(roundTrip(out, "esm"), ROUND_TRIP_RESULT);
  });

  test("--target=js+dts writes JavaScript with declarations beside it", { timeout: 60_000 }, () => {
    const out = generateInto("js-dts-esm", ["--target=js+dts", "--module=esm", "--import-extension=js"], JS_DTS_FILES);
    assertJavaScript(read(out, "demo/plotter_pb.js"), "esm");
    const declarations = read(out, "demo/plotter_pb.d.ts");
    assertDeclarations(declarations);
    assertImports(declarations, ".js", "import");
    assert.match(declarations, /^import type \{[^}]*\bPointSchema\b[^}]*\} from "\.\/types\/point_pb\.js";$/m);
    assert.match(read(out, "demo/types/point_pb.d.ts"), /^export declare const PointSchema: GenMessage<Point>;$/m);
    assert.deepEqual(roundTrip(out, "esm"), ROUND_TRIP_RESULT);
  });

  test("--target=dts writes declarations only", { timeout: 60_000 }, () => {
    const out = generateInto("dts", ["--target=dts"], DTS_FILES);
    const declarations = read(out, "demo/plotter_pb.d.ts");
    assertDeclarations(declarations);
    assertImports(declarations, ".js", "import");
  });

  test("--module=commonjs writes require()/exports that load with require()", { timeout: 60_000 }, () => {
    const out = generateInto("js-cjs", ["--target=js", "--module=commonjs"], JS_FILES);
    const code = read(out, "demo/plotter_pb.js");
    assertJavaScript(code, "commonjs");
    assertImports(code, ".js", "require");
    assert.match(code, /^\/\/ @generated by protoc-gen-es v[\d.]+ with parameter "target=js,import_extension=js,js_import_style=legacy_commonjs"$/m);
    assert.deepEqual(roundTrip(out, "commonjs"), ROUND_TRIP_RESULT);
  });

  test("--module=commonjs with js+dts and extension-less imports", { timeout: 60_000 }, () => {
    const out = generateInto("js-dts-cjs-none", ["--target=js+dts", "--module=commonjs", "--import-extension=none"], JS_DTS_FILES);
    const code = read(out, "demo/plotter_pb.js");
    assertJavaScript(code, "commonjs");
    assertImports(code, "", "require");
    const declarations = read(out, "demo/plotter_pb.d.ts");
    assertDeclarations(declarations);
    assertImports(declarations, "", "import");
    assert.deepEqual(roundTrip(out, "commonjs"), ROUND_TRIP_RESULT);
  });

  test("the declarations type-check for ES module and CommonJS users (tsc, module nodenext)", { timeout: 120_000 }, () => {
    const project = join(scratch, "typecheck");
    const consumer = `import { create, toBinary } from "@bufbuild/protobuf";
import { Plotter, StampedSchema, type Stamped } from "./demo/plotter_pb.js";
import { Color } from "./demo/types/point_pb.js";
const stamped: Stamped = create(StampedSchema, { point: { x: 1 }, label: "x", color: Color.RED });
export const bytes: Uint8Array = toBinary(StampedSchema, stamped);
export const kind: "unary" = Plotter.method.plot.methodKind;
// @ts-expect-error label is a string: the declarations are not any
create(StampedSchema, { label: 5 });
`;
    for (const [name, flags, type] of [
      ["esm", ["--target=js+dts"], "module"],
      ["cjs", ["--target=js+dts", "--module=commonjs"], "commonjs"],
    ] as const) {
      const run = tsgrpc("generate", "-I", protos, "--out", join(project, name), ...flags, ...PROTO_FILES);
      assert.equal(run.status, 0, run.stderr);
      writeFileSync(join(project, name, "package.json"), JSON.stringify({ type }));
      writeFileSync(join(project, name, "use.ts"), consumer);
    }
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, types: [] },
      files: ["esm/use.ts", "cjs/use.ts"],
    }));
    const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], { cwd: project, encoding: "utf8", timeout: 100_000 });
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  });

  test("bad values exit 2 with the allowed values, and write nothing", { timeout: 60_000 }, () => {
    const cases: [string[], RegExp][] = [
      [["--target=tsx"], /--target: "tsx" is not one of ts, js, js\+dts, dts/],
      [["--target=ts+js"], /--target: "ts\+js" is not one of ts, js, js\+dts, dts/],
      [["--import-extension", "mjs"], /--import-extension: "mjs" is not one of js, ts, none/],
      [["--module=cjs", "--target=js"], /--module: "cjs" is not one of esm, commonjs/],
      [["--module=commonjs"], /--module=commonjs is for JavaScript output \(--target=js or js\+dts\), not --target=ts/],
      [["--module=commonjs", "--target=dts"], /--module=commonjs is for JavaScript output .*not --target=dts/],
      [["--target=js+dts", "--import-extension=ts"], /--import-extension=ts only fits --target=ts/],
      [["--target"], /--target needs a value/],
    ];
    for (const [flags, message] of cases) {
      const out = join(scratch, "rejected");
      const run = tsgrpc("generate", "-I", protos, "--out", out, ...PROTO_FILES, ...flags);
      assert.equal(run.status, 2, `${flags.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, flags.join(" "));
      assert.match(run.stderr, /usage: tsgrpc generate/);
      assert.equal(existsSync(out), false, `${flags.join(" ")} wrote nothing`);
    }
  });
});

describe("parseGenerateArgs and the plugin options", () => {
  const base = ["--out", "gen", "a.proto"];

  test("the defaults are TypeScript with .js imports, passed to protoc-gen-es exactly as before", () => {
    const args = parseGenerateArgs(base);
    assert.deepEqual([args.target, args.importExtension, args.module], ["ts", "js", "esm"]);
    assert.deepEqual(pluginOptions(args), ["target=ts", "import_extension=js"]);
  });

  test("flags map to target, import_extension and js_import_style", () => {
    const args = parseGenerateArgs(["--target", "js+dts", "--import-extension=none", "--module", "commonjs", ...base]);
    assert.deepEqual(pluginOptions(args), ["target=js+dts", "import_extension=none", "js_import_style=legacy_commonjs"]);
    assert.deepEqual(pluginOptions(parseGenerateArgs(["--target=js", "--module=esm", ...base])), ["target=js", "import_extension=js"]);
  });

  test("protoc-gen-es's spellings: dts+js, --import_extension", () => {
    assert.equal(parseGenerateArgs(["--target=dts+js", ...base]).target, "js+dts");
    assert.equal(parseGenerateArgs(["--import_extension=none", ...base]).importExtension, "none");
  });

  test("the last of a repeated flag wins; unknown look-alikes are rejected", () => {
    assert.equal(parseGenerateArgs(["--target=js", "--target=dts", ...base]).target, "dts");
    assert.throws(() => parseGenerateArgs(["--targets=js", ...base]), UsageError);
    assert.throws(() => parseGenerateArgs(["--module-style=esm", ...base]), UsageError);
  });
});
