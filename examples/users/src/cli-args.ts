/**
 * A tiny command-line parser shared by the three programs of the example: `--name=value` or
 * `--name value`, plus bare `--flag`s. Unknown options are an error, so a typo never goes unnoticed.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export type ParsedArgs = Map<string, string>;

export function parseArgs(argv: readonly string[], known: readonly string[], usage: string): ParsedArgs {
  const out: ParsedArgs = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      out.set("help", "true");
      continue;
    }
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new UsageError(`unexpected argument "${arg}"\n\n${usage}`);
    const name = match[1]!;
    if (!known.includes(name)) throw new UsageError(`unknown option "--${name}"\n\n${usage}`);
    let value = match[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`option "--${name}" needs a value\n\n${usage}`);
      value = next;
      i++;
    }
    out.set(name, value);
  }
  return out;
}

/** A TCP port: an integer 0..65535 (0 = let the system pick one, where that makes sense). */
export function parsePort(value: string | undefined, fallback: number, option = "port"): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`--${option} must be a port number 0..65535, got "${value}"`);
  return Number(value);
}

/** A non-negative whole number of milliseconds. */
export function parseMs(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${option} must be a whole number of milliseconds, got "${value}"`);
  return Number(value);
}

/** Runs a CLI entry point: usage errors exit 2 with the message, other failures exit 1. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
