/** The command line of `tsgrpc generate`, in protoc's spelling where protoc has one. */
export interface GenerateArgs {
  /** Folders that imports are resolved against (`-I`, `--proto_path`). Default: the current folder. */
  includes: string[];
  /** The .proto files to generate code for. */
  files: string[];
  /** Where the TypeScript goes (`--out`, `-o`, or protoc's `--es_out`). */
  out: string;
}

export class UsageError extends Error {}

export const USAGE = `usage: tsgrpc generate [-I DIR]... --out DIR FILE.proto...

  -I DIR, --proto_path=DIR   where imports are looked up (repeatable; default: .)
  -o DIR, --out=DIR          output folder for the generated TypeScript (also --es_out=DIR)

Writes, for each FILE.proto, FILE_pb.ts with its messages and service descriptors (protobuf-es),
ready for createServer().addService(...) and createClient(...). Imports between files and the
well-known types (google/protobuf/*.proto) work. No protoc is needed.`;

export function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const includes: string[] = [];
  const files: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (flag: string): string => {
      if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
      if (flag === "-I" && arg.length > 2) return arg.slice(2);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (arg === "-I" || (arg.startsWith("-I") && !arg.startsWith("-I="))) includes.push(value("-I"));
    else if (arg.startsWith("--proto_path")) includes.push(value("--proto_path"));
    else if (arg === "-o" || arg.startsWith("-o=")) out = value("-o");
    else if (arg.startsWith("--out")) out = value("--out");
    else if (arg.startsWith("--es_out")) out = value("--es_out");
    else if (arg.startsWith("-")) throw new UsageError(`unknown option "${arg}"`);
    else files.push(arg);
  }
  if (out === undefined) throw new UsageError("say where the code goes with --out DIR");
  if (files.length === 0) throw new UsageError("name at least one .proto file");
  return { includes: includes.length > 0 ? includes : ["."], files, out };
}
