#!/usr/bin/env node
// `npm run pack`: builds the workspace and packs every published package into packs/ (git-ignored), the
// tarballs a project outside this repository installs (see the README's "Install"). Prints each
// tarball's name, size and file count.
//   node scripts/pack.mjs [--out DIR]
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outFlag = process.argv.indexOf("--out");
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, "packs");

/** The packages users install, by workspace name. */
export const PUBLISHED_PACKAGES = ["tsgrpc", "@tsgrpc/proto-loader", "@tsgrpc/cli"];

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
  return result.stdout;
}

run(process.execPath, [join(root, "scripts/build.mjs")]);
mkdirSync(out, { recursive: true });
const packed = JSON.parse(
  run("npm", ["pack", "--json", "--pack-destination", out, ...PUBLISHED_PACKAGES.flatMap((name) => ["-w", name])]),
);
for (const tarball of packed) {
  console.log(`${join(out, tarball.filename)}  ${(tarball.size / 1024).toFixed(1)} KiB packed, ${tarball.entryCount} files`);
}
