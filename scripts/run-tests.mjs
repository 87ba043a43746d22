#!/usr/bin/env node
// The test command (`npm test`): builds every package (scripts/build.mjs), then runs every *.test.ts under
// packages/*/test and examples/*/test with node's own test runner, TypeScript through tsx. Test files
// import the workspace packages' sources (the "tsgrpc-source" export condition); the programs they start
// (examples, interop client and server, the installed-package test) run the compiled dist/ code, as users
// run them. Each test file runs in its own process; a file that leaves a server, socket or timer open
// never exits, so a whole-run limit turns a hang into a failure.
// node applies --test-timeout to each file as a whole (tests inside set their own, shorter timeouts).
// Usage: node scripts/run-tests.mjs [filter...]   (filters match file paths, e.g. "interop" or "envelope")
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const RUN_LIMIT_MS = 10 * 60 * 1000;

function findTests(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === "node_modules" || name === "gen" || name === "fixtures") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

// Each package's test/ folder, and the repository's own test/ (tests of the packages as installed).
const roots = ["packages", "examples"].flatMap((top) => {
  try {
    return readdirSync(join(root, top)).map((name) => join(root, top, name, "test"));
  } catch {
    return [];
  }
});
roots.push(join(root, "test"));
const filters = process.argv.slice(2);
const files = roots
  .flatMap((dir) => findTests(dir))
  .map((path) => relative(root, path))
  .filter((path) => filters.length === 0 || filters.some((f) => path.includes(f)))
  .sort();

if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}

const build = spawnSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const child = spawn(
  process.execPath,
  ["--conditions=tsgrpc-source", "--import", "tsx", "--test", "--test-reporter=spec", "--test-timeout=300000", ...files],
  { cwd: root, stdio: "inherit" },
);
const limit = setTimeout(() => {
  console.error(`tests did not finish within ${RUN_LIMIT_MS / 60000} minutes: something hangs (a handle left open?)`);
  child.kill("SIGKILL");
}, RUN_LIMIT_MS);
child.on("exit", (code, signal) => {
  clearTimeout(limit);
  process.exit(code ?? (signal ? 1 : 0));
});
