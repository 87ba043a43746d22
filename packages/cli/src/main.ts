import { ProtoError } from "@tsgrpc/proto-loader";
import { generate } from "./generate.js";
import { parseGenerateArgs, UsageError, USAGE } from "./args.js";
import { missingRuntimeHint } from "./runtime-check.js";

/** Runs the `tsgrpc` command; returns the exit code. Errors are reported as text, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command === "generate") {
      const args = parseGenerateArgs(rest);
      const written = await generate(args);
      for (const file of written) console.log(`wrote ${file}`);
      const hint = missingRuntimeHint(args.out);
      if (hint) console.error(hint);
      return 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsgrpc: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ProtoError) {
      console.error(err.message);
      return 1;
    }
    console.error(`tsgrpc: ${(err as Error).message}`);
    return 1;
  }
}

