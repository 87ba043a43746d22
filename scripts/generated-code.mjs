#!/usr/bin/env node
// The committed generated code, listed in scripts/generated-code.json, made by `tsgrpc generate` (the
// built command: run `npm run build` first; `npm install` does).
//   node scripts/generated-code.mjs check   fails when a committed file differs from what the generator
//                                           makes of its .proto files today (CI runs this)
//   node scripts/generated-code.mjs write   regenerates every listed folder in place
// Each entry is generated into a temporary folder first and compared (or copied) file by file.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const mode = process.argv[2];
if (mode !== "check" && mode !== "write") {
  console.error("usage: node scripts/generated-code.mjs check|write");
  process.exit(2);
}
const entries = JSON.parse(readFileSync(join(root, "scripts/generated-code.json"), "utf8"));

function listFiles(dir, base = dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listFiles(path, base, out);
    else out.push(relative(base, path));
  }
  return out.sort();
}

let drift = 0;
for (const entry of entries) {
  const scratch = mkdtempSync(join(tmpdir(), "tsgrpc-gen-"));
  try {
    const args = ["packages/cli/bin/tsgrpc.mjs", "generate", ...entry.includes.flatMap((i) => ["-I", i]), "--out", scratch, ...entry.files];
    const run = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
    if (run.status !== 0) {
      console.error(`generating ${entry.out} failed:\n${run.stdout}${run.stderr}`);
      process.exit(1);
    }
    if (mode === "write") {
      rmSync(join(root, entry.out), { recursive: true, force: true });
      cpSync(scratch, join(root, entry.out), { recursive: true });
      console.log(`regenerated ${entry.out}`);
      continue;
    }
    const fresh = listFiles(scratch);
    const committed = listFiles(join(root, entry.out));
    for (const file of new Set([...fresh, ...committed])) {
      const a = fresh.includes(file) ? readFileSync(join(scratch, file), "utf8") : undefined;
      const b = committed.includes(file) ? readFileSync(join(root, entry.out, file), "utf8") : undefined;
      if (a !== b) {
        drift++;
        console.error(`generated code drift: ${join(entry.out, file)} ${a === undefined ? "should not exist" : b === undefined ? "is missing" : "differs"}`);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
if (mode === "write") process.exit(0);
if (drift > 0) {
  console.error(`${drift} generated file(s) out of date: run "npm run generate" and commit the result`);
  process.exit(1);
}
console.log(`generated code is up to date (${entries.length} set(s) checked)`);
