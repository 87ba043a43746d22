// Command-line flags in the style every gRPC interop program uses: `--name=value` or `--name value`;
// a boolean flag may also stand alone (`--use_tls` means true). Unknown flags are an error, so a typo
// cannot silently run the wrong configuration.

export class UsageError extends Error {}

export type FlagKind = "string" | "boolean" | "integer";

export interface FlagSpec {
  kind: FlagKind;
  /** One line for the usage text. */
  help: string;
}

export type FlagValues = Map<string, string>;

/** Parses `argv` against `specs`; values stay strings and are checked by the typed getters below. */
export function parseFlags(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): FlagValues {
  const values: FlagValues = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--") || arg === "--") throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else if (spec.kind === "boolean" && (i + 1 >= argv.length || !isBooleanWord(argv[i + 1]!))) {
      value = "true";
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.kind === "boolean" && !isBooleanWord(value)) throw new UsageError(`--${name} takes true or false, got "${value}"`);
    if (spec.kind === "integer" && !/^\d+$/.test(value)) throw new UsageError(`--${name} takes a non-negative integer, got "${value}"`);
    values.set(name, value);
  }
  return values;
}

function isBooleanWord(value: string): boolean {
  return /^(true|false|1|0)$/i.test(value);
}

export function flagString(values: FlagValues, name: string): string | undefined {
  return values.get(name);
}

export function flagBoolean(values: FlagValues, name: string, fallback = false): boolean {
  const value = values.get(name);
  return value === undefined ? fallback : /^(true|1)$/i.test(value);
}

export function flagInteger(values: FlagValues, name: string): number | undefined {
  const value = values.get(name);
  return value === undefined ? undefined : Number(value);
}

export function usageText(command: string, specs: Readonly<Record<string, FlagSpec>>): string {
  const lines = Object.entries(specs).map(([name, spec]) => {
    const form = spec.kind === "boolean" ? `--${name}=true|false` : `--${name}=${spec.kind === "integer" ? "N" : "VALUE"}`;
    return `  ${form.padEnd(36)} ${spec.help}`;
  });
  return `usage: ${command} [flags]\n${lines.join("\n")}`;
}

/** A port number from a flag, 0..65535. */
export function checkPort(name: string, port: number | undefined, allowZero: boolean): number {
  if (port === undefined) throw new UsageError(`--${name} is required`);
  if (port > 65535 || (!allowZero && port === 0)) throw new UsageError(`--${name} must be a port number, got ${port}`);
  return port;
}
