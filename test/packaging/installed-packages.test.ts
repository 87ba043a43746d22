/**
 * tsgrpc as a user outside this repository gets it: every published package packed with `npm pack`, the
 * tarballs installed into a fresh project in the system's temp folder (no workspace links; nothing there
 * can reach this repository's node_modules), then, in that project:
 * - the README's "Install" and "Quickstart" blocks run exactly as written;
 * - `npx tsgrpc generate` on a proto with an import, an enum, a oneof, a map and a well-known type, and a
 *   program with a server and a client for all four call kinds (plus the service loaded at run time),
 *   compiled by tsc under a strict tsconfig for each module setup (nodenext ESM, node16 CommonJS,
 *   bundler, node10) and run with plain node;
 * - the same service from JavaScript only, with the JS output of `generate`, as ESM and as CommonJS.
 * Needs the npm registry for the packages the README installs beside tsgrpc (typescript, @types/node,
 * @bufbuild/protobuf); npm's cache makes repeated runs fast.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, parse, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = join(ROOT, "test/packaging/fixtures");
const PACKS = join(ROOT, "packs");
const TIMEOUT_MS = 240_000;

/** The strict user tsconfig the issue names; each setup adds its module options. */
const STRICT = {
  target: "es2022",
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noUnusedLocals: true,
  skipLibCheck: false,
  rootDir: "src",
  outDir: "dist",
  types: ["node"],
};

interface Setup {
  name: string;
  packageType: "module" | "commonjs";
  compilerOptions: Record<string, unknown>;
  /** A TypeScript version of its own (node10 resolution is gone from TypeScript 7). */
  typescript?: string;
}

const SETUPS: Setup[] = [
  { name: "nodenext-esm", packageType: "module", compilerOptions: { module: "nodenext", moduleResolution: "nodenext" } },
  { name: "node16-commonjs", packageType: "commonjs", compilerOptions: { module: "node16", moduleResolution: "node16" } },
  { name: "bundler", packageType: "module", compilerOptions: { module: "esnext", moduleResolution: "bundler" } },
  {
    name: "node10-commonjs",
    packageType: "commonjs",
    compilerOptions: { module: "commonjs", moduleResolution: "node10", esModuleInterop: true },
    typescript: "~5.9.3",
  },
];

interface Run {
  status: number | null;
  output: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" },
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}` };
}

function mustRun(command: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const result = run(command, args, cwd, env);
  assert.equal(result.status, 0, `${command} ${args.join(" ")} (in ${cwd}) failed:\n${result.output}`);
  return result.output;
}

/** The fenced blocks of a README section, with their info string ("sh title=..." → lang sh, title ...). */
function readmeBlocks(section: string): { lang: string; title: string; body: string }[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `README has no "## ${section}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```(\w+)(?: title="([^"]*)")?\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, title: m[2] ?? "", body: m[3]! }));
}

/** True when some folder above `dir` has a node_modules that node could resolve packages from. */
function ancestorNodeModules(dir: string): string | undefined {
  for (let at = dirname(dir); ; at = dirname(at)) {
    if (existsSync(join(at, "node_modules"))) return join(at, "node_modules");
    if (at === parse(at).root) return undefined;
  }
}

let project: string;
let tarballs: { filename: string; files: string[]; size: number }[] = [];

before(() => {
  project = mkdtempSync(join(tmpdir(), "tsgrpc-user-project-"));
  const reachable = ancestorNodeModules(project);
  assert.equal(reachable, undefined, `${reachable} would be visible to the test project: it must see only what it installs`);
  // What `npm run pack` does (README, "Install"), with the file lists kept for the checks below.
  mustRun(process.execPath, [join(ROOT, "scripts/pack.mjs")], ROOT);
  const listed = mustRun("npm", ["pack", "--dry-run", "--json", "-w", "tsgrpc", "-w", "@tsgrpc/proto-loader", "-w", "@tsgrpc/cli"], ROOT);
  tarballs = (JSON.parse(listed.slice(listed.indexOf("["))) as { filename: string; size: number; files: { path: string }[] }[]).map((t) => ({
    filename: t.filename,
    size: t.size,
    files: t.files.map((f) => f.path),
  }));
});

after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("installed packages", { timeout: TIMEOUT_MS, concurrency: false }, () => {
  test("each tarball holds the compiled builds, declarations, README and license, and no tests or TypeScript sources", () => {
    assert.equal(tarballs.length, 3);
    for (const { filename, files } of tarballs) {
      const sources = files.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f));
      assert.deepEqual(sources, [], `${filename} holds TypeScript sources`);
      const tests = files.filter((f) => /(^|\/)(test|tests|__tests__)\//.test(f) || /\.test\.[cm]?js$/.test(f));
      assert.deepEqual(tests, [], `${filename} holds tests`);
      for (const required of ["package.json", "README.md", "LICENSE", "dist/esm/index.js", "dist/esm/index.d.ts", "dist/esm/index.d.ts.map", "dist/esm/index.js.map", "dist/cjs/index.js", "dist/cjs/index.d.ts", "dist/cjs/package.json"]) {
        assert.ok(files.includes(required), `${filename} lacks ${required}`);
      }
      assert.ok(existsSync(join(PACKS, filename)), `npm run pack did not write ${filename}`);
    }
  });

  test("the README's install and quickstart run as written in a new project", () => {
    const env = { TSGRPC: ROOT };
    const blocks = [...readmeBlocks("Install"), ...readmeBlocks("Quickstart")];
    const userSteps = blocks.filter((b) => b.title !== "in the tsgrpc checkout");
    assert.ok(userSteps.some((b) => b.lang === "sh") && userSteps.some((b) => b.lang === "ts"), "README lost its install or quickstart code");
    let output = "";
    for (const block of userSteps) {
      if (block.lang === "sh") output += mustRun("bash", ["-euo", "pipefail", "-c", block.body], project, env);
      else {
        assert.ok(block.title !== "", `a ${block.lang} block in the README quickstart has no title="file"`);
        mkdirSync(dirname(join(project, block.title)), { recursive: true });
        writeFileSync(join(project, block.title), block.body);
      }
    }
    const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as Record<string, Record<string, string>>;
    assert.ok(manifest["dependencies"]?.["@bufbuild/protobuf"], "the project declares the protobuf runtime that generated code imports");
    assert.match(output, /wrote src\/gen\/route_guide_pb\.ts/);
    assert.match(output, /feature: /);
    assert.match(output, /done/);
  });

  for (const setup of SETUPS) {
    test(`TypeScript, ${setup.name}: generate, compile under strict flags, run all four call kinds`, () => {
      const dir = join(project, "setups", setup.name);
      mkdirSync(join(dir, "src"), { recursive: true });
      cpSync(join(FIXTURES, "proto"), join(project, "proto"), { recursive: true });
      cpSync(join(FIXTURES, "src/app.ts"), join(dir, "src/app.ts"));
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: setup.name, private: true, type: setup.packageType }));
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { ...STRICT, ...setup.compilerOptions }, include: ["src"] }, null, 2));
      const out = `setups/${setup.name}/src/gen`;
      const generated = mustRun("npx", ["tsgrpc", "generate", "-I", "proto", "--out", out, "proto/shop/v1/shop.proto", "proto/shop/v1/types.proto"], project);
      assert.match(generated, /types_pb\.ts/);
      let tsc = ["tsc"];
      if (setup.typescript) {
        mustRun("npm", ["install", "--no-save", "--prefix", dir, `typescript@${setup.typescript}`], project);
        tsc = [join(dir, "node_modules/.bin/tsc")];
      }
      const compiled = run(tsc[0] === "tsc" ? "npx" : tsc[0]!, tsc[0] === "tsc" ? ["tsc", "-p", dir] : ["-p", dir], project);
      assert.equal(compiled.status, 0, `tsc (${setup.name}) reported errors:\n${compiled.output}`);
      const ran = mustRun(process.execPath, [join(dir, "dist/app.js")], project);
      assert.match(ran, /unary: ok\nunary error: ok\nserver streaming: ok\nclient streaming: ok\nbidi streaming: ok\nrun-time loaded service: ok\nhealth \(tsgrpc\/health\): ok\nall calls ok/);
    });
  }

  const JS_SETUPS: { name: string; packageType: string; flags: string[]; program: string; declarations: boolean }[] = [
    { name: "esm", packageType: "module", flags: ["--target=js+dts"], program: "calls.mjs", declarations: true },
    { name: "commonjs", packageType: "commonjs", flags: ["--target=js", "--module=commonjs"], program: "calls.cjs", declarations: false },
  ];
  for (const { name, packageType, flags, program, declarations } of JS_SETUPS) {
    test(`JavaScript only, ${name}: the JS output of generate, all four call kinds with plain node`, () => {
      const dir = join(project, "setups", `js-${name}`);
      mkdirSync(dir, { recursive: true });
      cpSync(join(FIXTURES, "proto"), join(project, "proto"), { recursive: true });
      cpSync(join(FIXTURES, "js", program), join(dir, program));
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `js-${name}`, private: true, type: packageType }));
      mustRun("npx", ["tsgrpc", "generate", ...flags, "-I", "proto", "--out", `setups/js-${name}/gen`, "proto/shop/v1/shop.proto", "proto/shop/v1/types.proto"], project);
      assert.ok(existsSync(join(dir, "gen/shop/v1/shop_pb.js")));
      assert.equal(existsSync(join(dir, "gen/shop/v1/shop_pb.ts")), false);
      assert.equal(existsSync(join(dir, "gen/shop/v1/shop_pb.d.ts")), declarations);
      const ran = mustRun(process.execPath, [resolve(dir, program)], project);
      assert.match(ran, /all calls ok/);
    });
  }
});
