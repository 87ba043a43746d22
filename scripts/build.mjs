#!/usr/bin/env node
// Compiles every workspace package to plain JavaScript in its dist/ folder (`npm run build`; `npm install`
// runs it through `prepare`, `npm start` and `npm test` before they start).
//
// Libraries (packages that are not private: tsgrpc, @tsgrpc/proto-loader, @tsgrpc/cli) get what npm users
// need: dist/esm (ES modules) and dist/cjs (CommonJS, with a package.json saying so), each with source maps
// and its own copy of the .d.ts declarations and declaration maps (a CommonJS importer must see
// declarations that sit in a CommonJS scope, or TypeScript under node16 refuses to `require` them).
// Applications (private: the examples, interop programs and benchmarks) get dist/ as ES modules, mirroring
// the package's folders (src/server.ts → dist/src/server.js, so imports between folders still resolve);
// the data files their code finds relative to itself are copied beside them.
//
// JavaScript comes from esbuild, one file per source file (no bundling: users' bundlers and Node see the
// same module graph as the source), declarations from tsc. Types are checked by `npm run typecheck`.
//   node scripts/build.mjs            build the packages whose sources changed since their last build
//   node scripts/build.mjs --force    build every package
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const force = process.argv.includes("--force");
const TARGET = "node20";

/** Libraries in dependency order: a package's declarations are built against those before it. */
const LIBRARIES = ["packages/tsgrpc", "packages/proto-loader", "packages/cli"];
const APPLICATIONS = [
  { dir: "examples/route_guide", sources: ["src"], assets: ["route_guide_db.json"] },
  { dir: "examples/users", sources: ["src"] },
  { dir: "packages/interop", sources: ["src", "peers"] },
  { dir: "packages/bench", sources: ["src"] },
];

function sourceFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/**
 * In CommonJS there is no import.meta; the few modules that locate files next to themselves use
 * import.meta.url, which becomes the file URL of the CommonJS module.
 */
const CJS_IMPORT_META = {
  define: { "import.meta.url": "__tsgrpcModuleUrl" },
  banner: { js: '"use strict";\nconst __tsgrpcModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
};

async function compile(entryPoints, outbase, outdir, format) {
  const options = { outbase, outdir, format, platform: "node", target: TARGET, sourcemap: true, logLevel: "warning" };
  if (format !== "cjs") return void (await build({ ...options, entryPoints }));
  const usesImportMeta = entryPoints.filter((file) => readFileSync(file, "utf8").includes("import.meta"));
  const others = entryPoints.filter((file) => !usesImportMeta.includes(file));
  await build({ ...options, entryPoints: others });
  if (usesImportMeta.length > 0) await build({ ...options, entryPoints: usesImportMeta, ...CJS_IMPORT_META });
}

function tsc(args) {
  const result = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), ...args], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`tsc ${args.join(" ")} failed`);
}

function copyDeclarations(from, to) {
  for (const name of readdirSync(from)) {
    const path = join(from, name);
    if (statSync(path).isDirectory()) copyDeclarations(path, join(to, name));
    else if (name.endsWith(".d.ts") || name.endsWith(".d.ts.map")) {
      mkdirSync(to, { recursive: true });
      cpSync(path, join(to, name));
    }
  }
}

/** Library output: ES modules, CommonJS, and the declarations beside each. */
async function buildLibrary(pkg, out) {
  const src = join(root, pkg, "src");
  const files = sourceFiles(src);
  await compile(files, src, join(out, "esm"), "esm");
  await compile(files, src, join(out, "cjs"), "cjs");
  writeFileSync(join(out, "cjs/package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);
  tsc(["-p", join(pkg, "tsconfig.build.json"), "--outDir", join(out, "esm")]);
  copyDeclarations(join(out, "esm"), join(out, "cjs"));
}

/** Application output: the package's source folders as ES modules, plus its data files. */
async function buildApplication({ dir, sources, assets = [] }, out) {
  const base = join(root, dir);
  await compile(sources.flatMap((folder) => sourceFiles(join(base, folder))), base, out, "esm");
  for (const asset of assets) cpSync(join(base, asset), join(out, asset));
}

// ---- up-to-date check and swap ---------------------------------------------------------------------
// A package is rebuilt only when one of its inputs is newer than its last build, and its new dist/ is
// built beside the old one and swapped in, so a process reading dist/ meanwhile (a test, a server started
// by another terminal) never sees it half-written.

const STAMPS = join(root, "node_modules/.cache/tsgrpc-build");

function newestMtime(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

async function buildPackage(dir, inputs, produce) {
  const stamp = join(STAMPS, `${dir.replaceAll("/", "_")}.stamp`);
  const newestInput = Math.max(...[fileURLToPath(import.meta.url), ...inputs.map((p) => join(root, dir, p))].map(newestMtime));
  const dist = join(root, dir, "dist");
  if (!force && existsSync(dist) && newestMtime(stamp) >= newestInput) return false;
  const fresh = join(root, dir, `dist.new-${process.pid}`);
  const old = join(root, dir, `dist.old-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  try {
    await produce(fresh);
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(fresh, dist);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  mkdirSync(STAMPS, { recursive: true });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return true;
}

const started = Date.now();
const rebuilt = [];
for (const pkg of LIBRARIES) {
  if (await buildPackage(pkg, ["src", "package.json", "tsconfig.build.json"], (out) => buildLibrary(pkg, out))) rebuilt.push(pkg);
}
for (const app of APPLICATIONS) {
  if (await buildPackage(app.dir, [...app.sources, ...(app.assets ?? []), "package.json"], (out) => buildApplication(app, out))) rebuilt.push(app.dir);
}
console.log(
  rebuilt.length === 0
    ? "build: every package is up to date"
    : `build: compiled ${rebuilt.join(", ")} in ${Date.now() - started} ms`,
);
