// Compiles the benchmark's server and load programs to plain JavaScript before anything is measured.
//
// Why: the workspace runs TypeScript through tsx, whose esbuild transform keeps function names by
// wrapping every function and class in a `__name(...)` call. In a hot path that creates closures per call
// that is a measurable tax (a defineProperty per closure, extra garbage) that no published package pays:
// @grpc/grpc-js is measured as the compiled JavaScript on npm, and tsgrpc must be measured the same way.
// esbuild bundles each program with tsgrpc compiled in (as a build for npm would produce it) and leaves
// @grpc/grpc-js as its published code.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

/** The programs the orchestrator starts, relative to the package folder, without extension. */
export const PROCESS_PROGRAMS = [
  "src/servers/tsgrpc-server",
  "src/servers/grpc-js-server",
  "src/load/tsgrpc-load",
  "src/load/grpc-js-load",
] as const;

/** Bundles every program into `outDir` (inside the package, so node_modules resolve); returns program → file. */
export async function compileProcesses(packageDir: string, outDir: string): Promise<Map<string, string>> {
  mkdirSync(outDir, { recursive: true });
  const files = new Map<string, string>();
  for (const program of PROCESS_PROGRAMS) {
    const outfile = join(outDir, `${program.split("/").pop()}.mjs`);
    await build({
      entryPoints: [join(packageDir, `${program}.ts`)],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: `node${process.versions.node.split(".")[0]}`,
      external: ["@grpc/grpc-js"],
      // Bundled CommonJS dependencies call require(); an ES module has none unless we make one.
      banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
      logLevel: "warning",
    });
    files.set(program, outfile);
  }
  return files;
}
