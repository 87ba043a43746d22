import { createRequire } from "node:module";
import { join, resolve } from "node:path";

/** The package every generated file imports (protobuf-es's runtime). */
export const GENERATED_CODE_RUNTIME = "@bufbuild/protobuf";

/**
 * A hint when the generated code's runtime does not resolve from the folder it was written to: the
 * project never declared it (strict package managers then fail at run time), or the folder is outside
 * any project. Undefined when it resolves.
 */
export function missingRuntimeHint(outDir: string): string | undefined {
  try {
    createRequire(join(resolve(outDir), "generated.js")).resolve(GENERATED_CODE_RUNTIME);
    return undefined;
  } catch {
    return `note: the generated code imports ${GENERATED_CODE_RUNTIME}, which ${outDir} cannot resolve: add it to your project (npm install ${GENERATED_CODE_RUNTIME})`;
  }
}
