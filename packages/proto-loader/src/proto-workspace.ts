import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

/** A failure the user can act on (a broken .proto, a missing file), with a message fit to print as it is. */
export class ProtoError extends Error {}

/** Where to find .proto files and which to compile, protoc-style. */
export interface ProtoSources {
  /** Folders that imports are resolved against (protoc's `-I`); default: the current folder. */
  includes?: readonly string[];
  /** The files to compile: paths on disk, or paths relative to an include folder. */
  files: readonly string[];
}

/**
 * A throw-away buf workspace for a protoc-style command line: each include folder is linked in as one
 * module, so imports resolve as they would with `protoc -I`. `paths` are the files as buf names them.
 */
export interface ProtoWorkspace {
  readonly dir: string;
  /** `--path` arguments for buf, one per requested file. */
  readonly paths: readonly string[];
  /** Each requested file's import path inside its include folder (e.g. "route_guide.proto"). */
  readonly importPaths: readonly string[];
  /** Turns compiler output back into `file:line:col: message` lines with the user's folder names. */
  readableErrors(output: string): string;
  remove(): void;
}

export function createProtoWorkspace(sources: ProtoSources): ProtoWorkspace {
  const shown = sources.includes && sources.includes.length > 0 ? [...sources.includes] : ["."];
  const includes = shown.map((dir) => resolve(dir));
  for (const [i, dir] of includes.entries()) {
    if (!existsSync(dir)) throw new ProtoError(`${shown[i]}: include folder not found`);
  }
  if (sources.files.length === 0) throw new ProtoError("no .proto file named");
  const located = sources.files.map((file) => locate(file, includes, shown));
  const dir = mkdtempSync(join(tmpdir(), "tsgrpc-protos-"));
  for (const i of includes.keys()) symlinkSync(includes[i]!, join(dir, moduleName(i)), "dir");
  writeFileSync(join(dir, "buf.yaml"), JSON.stringify({ version: "v2", modules: [...includes.keys()].map((i) => ({ path: moduleName(i) })) }));
  return {
    dir,
    paths: located.map((p) => `${moduleName(p.includeIndex)}/${p.importPath}`),
    importPaths: located.map((p) => p.importPath),
    readableErrors: (output) => readableCompilerErrors(output, shown),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function moduleName(index: number): string {
  return `include${index}`;
}

function locate(file: string, includes: readonly string[], shown: readonly string[]): { includeIndex: number; importPath: string } {
  if (!file.endsWith(".proto")) throw new ProtoError(`${file}: not a .proto file`);
  const candidates = isAbsolute(file) ? [file] : [resolve(file), ...includes.map((dir) => join(dir, file))];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    for (const [includeIndex, dir] of includes.entries()) {
      const inside = relative(dir, path);
      if (!inside.startsWith("..") && !isAbsolute(inside)) return { includeIndex, importPath: inside.split(sep).join("/") };
    }
    throw new ProtoError(`${file}: file is not inside any include folder (${shown.join(", ")}); add -I for its folder`);
  }
  throw new ProtoError(`${file}: file not found`);
}

/** Compiler lines with `includeN/` module names replaced by the folder the user named. */
function readableCompilerErrors(output: string, shown: readonly string[]): string {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) =>
      line.replace(/include(\d+)\/([^:\s]+\.proto)(?::(\d+):(\d+):?)?\s*/g, (_m, i: string, path: string, row?: string, col?: string) => {
        const file = join(shown[Number(i)] ?? ".", path);
        return row ? `${file}:${row}:${col}: ` : `${file}: `;
      }),
    )
    .join("\n");
}
