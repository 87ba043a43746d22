import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { createProtoWorkspace, ProtoError, runBuf } from "@tsgrpc/proto-loader";
import type { GenerateArgs } from "./args.js";

const require = createRequire(import.meta.url);
const PROTOC_GEN_ES = require.resolve("@bufbuild/protoc-gen-es/bin/protoc-gen-es");

/**
 * Generates TypeScript (protoc-gen-es: messages and service descriptors) for `args.files`, resolving
 * imports against the include folders, with the compiler inside the @bufbuild/buf npm package.
 * Returns the files written; a broken .proto throws a ProtoError in `file:line:col: message` form.
 */
export async function generate(args: GenerateArgs): Promise<string[]> {
  const workspace = createProtoWorkspace({ includes: args.includes, files: args.files });
  try {
    const template = {
      version: "v2",
      plugins: [{ local: [process.execPath, PROTOC_GEN_ES], out: resolve(args.out), opt: ["target=ts", "import_extension=js"] }],
    };
    const paths = workspace.paths.flatMap((p) => ["--path", p]);
    const result = await runBuf(["generate", ".", "--template", JSON.stringify(template), ...paths], workspace.dir);
    if (result.code !== 0) {
      throw new ProtoError(workspace.readableErrors(result.stderr) || `code generation failed (exit ${result.code})`);
    }
  } finally {
    workspace.remove();
  }
  return workspace.importPaths.map((p) => join(args.out, p.replace(/\.proto$/, "_pb.ts")));
}
