import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { GenerateArgs } from "./args.js";

/** A failure the user can act on (a broken .proto, a missing file), reported as plain text. */
export class GenerateError extends Error {}

const require = createRequire(import.meta.url);
const BUF = require.resolve("@bufbuild/buf/bin/buf");
const PROTOC_GEN_ES = require.resolve("@bufbuild/protoc-gen-es/bin/protoc-gen-es");

/** A .proto file, as an include folder and the path inside it (which is also its import name). */
interface ProtoFile {
  includeIndex: number;
  importPath: string;
}

/**
 * Generates TypeScript (protoc-gen-es: messages and service descriptors) for `files`, resolving imports
 * against the include folders. The compiler is the one inside the @bufbuild/buf npm package: each
 * include folder becomes a module of a throw-away buf workspace, so protoc's `-I` semantics carry over.
 * Returns the files written.
 */
export async function generate(args: GenerateArgs): Promise<string[]> {
  const includes = args.includes.map((dir) => resolve(dir));
  for (const [i, dir] of includes.entries()) {
    if (!existsSync(dir)) throw new GenerateError(`${args.includes[i]}: include folder not found`);
  }
  const protos = args.files.map((file) => locate(file, includes, args.includes));
  const out = resolve(args.out);
  const workspace = mkdtempSync(join(tmpdir(), "tsgrpc-generate-"));
  try {
    const used = [...new Set(protos.map((p) => p.includeIndex)), ...includes.keys()].filter((v, i, a) => a.indexOf(v) === i);
    for (const i of used) symlinkSync(includes[i]!, join(workspace, moduleName(i)), "dir");
    writeFileSync(join(workspace, "buf.yaml"), JSON.stringify({ version: "v2", modules: used.map((i) => ({ path: moduleName(i) })) }));
    const template = {
      version: "v2",
      plugins: [{ local: [process.execPath, PROTOC_GEN_ES], out, opt: ["target=ts", "import_extension=js"] }],
    };
    const paths = protos.flatMap((p) => ["--path", `${moduleName(p.includeIndex)}/${p.importPath}`]);
    const result = await run(process.execPath, [BUF, "generate", ".", "--template", JSON.stringify(template), ...paths], workspace);
    if (result.code !== 0) {
      throw new GenerateError(readableCompilerErrors(result.output, args.includes) || `code generation failed (exit ${result.code})`);
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
  return protos.map((p) => join(args.out, p.importPath.replace(/\.proto$/, "_pb.ts")));
}

function moduleName(index: number): string {
  return `include${index}`;
}

/** Finds which include folder holds `file` (given as a path on disk, or relative to an include folder). */
function locate(file: string, includes: readonly string[], shownIncludes: readonly string[]): ProtoFile {
  if (!file.endsWith(".proto")) throw new GenerateError(`${file}: not a .proto file`);
  const candidates = isAbsolute(file) ? [file] : [resolve(file), ...includes.map((dir) => join(dir, file))];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    for (const [includeIndex, dir] of includes.entries()) {
      const inside = relative(dir, path);
      if (!inside.startsWith("..") && !isAbsolute(inside)) return { includeIndex, importPath: inside.split(sep).join("/") };
    }
    throw new GenerateError(`${file}: file is not inside any include folder (${shownIncludes.join(", ")}); add -I for its folder`);
  }
  throw new GenerateError(`${file}: file not found`);
}

/**
 * The compiler's messages in `file:line:col: message` form, with the workspace's module names turned
 * back into the folders the user named.
 */
function readableCompilerErrors(output: string, shownIncludes: readonly string[]): string {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) =>
      line.replace(/include(\d+)\/([^:\s]+\.proto)(?::(\d+):(\d+):?)?\s*/g, (_m, i: string, path: string, row?: string, col?: string) => {
        const shown = join(shownIncludes[Number(i)] ?? ".", path);
        return row ? `${shown}:${row}:${col}: ` : `${shown}: `;
      }),
    )
    .join("\n");
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? 1, output }));
  });
}
