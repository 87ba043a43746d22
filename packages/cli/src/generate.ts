import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createProtoWorkspace, ProtoError, runBuf } from "@tsgrpc/proto-loader";
import { pluginOptions, type GenerateArgs } from "./args.js";

const require = createRequire(import.meta.url);
const PROTOC_GEN_ES = require.resolve("@bufbuild/protoc-gen-es/bin/protoc-gen-es");

/**
 * Generates code with protoc-gen-es (messages and service descriptors) for `args.files`, as TypeScript
 * or JavaScript and declarations (`args.target`), resolving imports against the include folders, with
 * the compiler inside the @bufbuild/buf npm package. Returns the files written, as `args.out`/name;
 * a broken .proto throws a ProtoError in `file:line:col: message` form.
 */
export async function generate(args: GenerateArgs): Promise<string[]> {
  const workspace = createProtoWorkspace({ includes: args.includes, files: args.files });
  // The plugin writes into a scratch folder first, so the files reported are exactly those it produced
  // (not guessed from the target, and not mixed up with older files in the output folder).
  const scratch = mkdtempSync(join(tmpdir(), "tsgrpc-out-"));
  try {
    const template = {
      version: "v2",
      plugins: [{ local: [process.execPath, PROTOC_GEN_ES], out: scratch, opt: pluginOptions(args) }],
    };
    const paths = workspace.paths.flatMap((p) => ["--path", p]);
    const result = await runBuf(["generate", ".", "--template", JSON.stringify(template), ...paths], workspace.dir);
    if (result.code !== 0) {
      throw new ProtoError(workspace.readableErrors(result.stderr) || `code generation failed (exit ${result.code})`);
    }
    const produced = sortByInput(listFiles(scratch), workspace.importPaths);
    const out = resolve(args.out);
    for (const file of produced) {
      mkdirSync(dirname(join(out, file)), { recursive: true });
      copyFileSync(join(scratch, file), join(out, file));
    }
    return produced.map((file) => join(args.out, file));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    workspace.remove();
  }
}

/** Every file under `dir`, as `/`-separated paths relative to it. */
function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const path = prefix === "" ? name : `${prefix}/${name}`;
    return statSync(join(dir, ...path.split("/"))).isDirectory() ? listFiles(dir, path) : [path];
  });
}

const EXTENSION_ORDER = ["_pb.ts", "_pb.js", "_pb.d.ts"];

/** In the order the .proto files were named, and for each: .ts, .js, .d.ts. */
function sortByInput(files: string[], importPaths: readonly string[]): string[] {
  const rank = (file: string): number => {
    const ext = EXTENSION_ORDER.findIndex((e) => file.endsWith(e));
    const stem = ext < 0 ? file : file.slice(0, -EXTENSION_ORDER[ext]!.length);
    const input = importPaths.findIndex((p) => p.replace(/\.proto$/, "") === stem);
    return (input < 0 ? importPaths.length : input) * (EXTENSION_ORDER.length + 1) + (ext < 0 ? EXTENSION_ORDER.length : ext);
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
