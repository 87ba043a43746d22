/** What protoc-gen-es writes for each .proto file (its `target` option). */
export type Target = "ts" | "js" | "js+dts" | "dts";
/** The extension put on imports between generated files (protoc-gen-es's `import_extension`). */
export type ImportExtension = "js" | "ts" | "none";
/** The module syntax of generated JavaScript: `commonjs` is protoc-gen-es's `js_import_style=legacy_commonjs`. */
export type ModuleStyle = "esm" | "commonjs";

/** The command line of `tsgrpc generate`, in protoc's spelling where protoc has one. */
export interface GenerateArgs {
  /** Folders that imports are resolved against (`-I`, `--proto_path`). Default: the current folder. */
  includes: string[];
  /** The .proto files to generate code for. */
  files: string[];
  /** Where the generated code goes (`--out`, `-o`, or protoc's `--es_out`). */
  out: string;
  /** `--target`; default "ts". */
  target: Target;
  /** `--import-extension`; default "js", what Node.js ESM (`module: node16`/`nodenext`) needs. */
  importExtension: ImportExtension;
  /** `--module`; default "esm". Only JavaScript output can be "commonjs". */
  module: ModuleStyle;
}

export const TARGETS: readonly Target[] = ["ts", "js", "js+dts", "dts"];
export const IMPORT_EXTENSIONS: readonly ImportExtension[] = ["js", "ts", "none"];
export const MODULE_STYLES: readonly ModuleStyle[] = ["esm", "commonjs"];

export class UsageError extends Error {}

export const USAGE = `usage: tsgrpc generate [-I DIR]... --out DIR [options] FILE.proto...

  -I DIR, --proto_path=DIR   where imports are looked up (repeatable; default: .)
  -o DIR, --out=DIR          output folder for the generated code (also --es_out=DIR)
  --target=ts|js|js+dts|dts  what to write for each FILE.proto (default: ts)
                               ts      FILE_pb.ts: TypeScript, compiled by your tsc
                               js+dts  FILE_pb.js and FILE_pb.d.ts: JavaScript with its types
                               js      FILE_pb.js only
                               dts     FILE_pb.d.ts only
  --import-extension=js|ts|none
                             extension on imports between generated files (default: js)
                               js      Node.js ESM, tsconfig module node16/nodenext
                               none    bundlers, tsconfig moduleResolution bundler
                               ts      Deno, tsconfig allowImportingTsExtensions (--target=ts only)
  --module=esm|commonjs      module syntax of generated JavaScript (default: esm); commonjs writes
                             require()/exports for CommonJS projects. With --target=ts your tsc
                             decides the module format.

Each FILE_pb file has the messages and service descriptors of FILE.proto (protobuf-es), ready for
createServer().addService(...) and createClient(...). Imports between files and the well-known
types (google/protobuf/*.proto) work. No protoc is needed.`;

export function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const includes: string[] = [];
  const files: string[] = [];
  let out: string | undefined;
  let target: Target = "ts";
  let importExtension: ImportExtension = "js";
  let module: ModuleStyle | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    /** Whether `arg` is the flag, as `--flag VALUE` or `--flag=VALUE`. */
    const is = (flag: string): boolean => arg === flag || arg.startsWith(`${flag}=`);
    const value = (flag: string): string => {
      if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
      if (flag === "-I" && arg.length > 2) return arg.slice(2);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (arg === "-I" || (arg.startsWith("-I") && !arg.startsWith("-I="))) includes.push(value("-I"));
    else if (is("--proto_path")) includes.push(value("--proto_path"));
    else if (is("-o")) out = value("-o");
    else if (is("--out")) out = value("--out");
    else if (is("--es_out")) out = value("--es_out");
    else if (is("--target")) target = parseTarget(value("--target"));
    else if (is("--import-extension")) importExtension = oneOf("--import-extension", value("--import-extension"), IMPORT_EXTENSIONS);
    else if (is("--import_extension")) importExtension = oneOf("--import-extension", value("--import_extension"), IMPORT_EXTENSIONS);
    else if (is("--module")) module = oneOf("--module", value("--module"), MODULE_STYLES);
    else if (arg.startsWith("-")) throw new UsageError(`unknown option "${arg}"`);
    else files.push(arg);
  }
  if (out === undefined) throw new UsageError("say where the code goes with --out DIR");
  if (files.length === 0) throw new UsageError("name at least one .proto file");
  if (module === "commonjs" && !target.split("+").includes("js")) {
    throw new UsageError(
      `--module=commonjs is for JavaScript output (--target=js or js+dts), not --target=${target}` +
        (target === "ts" ? ": your tsc decides the module format of TypeScript" : ""),
    );
  }
  if (importExtension === "ts" && target !== "ts") {
    throw new UsageError(`--import-extension=ts only fits --target=ts: the ${target} output has no .ts files to import`);
  }
  return { includes: includes.length > 0 ? includes : ["."], files, out, target, importExtension, module: module ?? "esm" };
}

/**
 * The protoc-gen-es options for the command line: `target` and `import_extension` as given, `--module`
 * as `js_import_style`. The defaults are passed as they always were (`target=ts,import_extension=js`),
 * so their output, whose first line names the options, stays byte for byte the same.
 */
export function pluginOptions(args: Pick<GenerateArgs, "target" | "importExtension" | "module">): string[] {
  const opt = [`target=${args.target}`, `import_extension=${args.importExtension}`];
  if (args.module === "commonjs") opt.push("js_import_style=legacy_commonjs");
  return opt;
}

/** The target as tsgrpc names it; protoc-gen-es's order-free `dts+js` is accepted too. */
function parseTarget(raw: string): Target {
  const parts = raw.split("+");
  const normalized = parts.includes("js") && parts.includes("dts") && parts.length === 2 ? "js+dts" : raw;
  return oneOf("--target", normalized, TARGETS, raw);
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[], shown = value): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag}: "${shown}" is not one of ${allowed.join(", ")}`);
}
