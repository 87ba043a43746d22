// Tiny `--name=value` flag parsing shared by the orchestrator and the child processes.

export type Flags = Map<string, string>;

/** Parses `--name=value` and bare `--name` (value "true"); anything else is an error. */
export function parseFlags(argv: readonly string[], known: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (const arg of argv) {
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new Error(`unexpected argument "${arg}" (flags look like --name=value)`);
    const [, name, value] = match as unknown as [string, string, string | undefined];
    if (!known.includes(name)) throw new Error(`unknown flag --${name} (known: ${known.map((k) => `--${k}`).join(", ")})`);
    flags.set(name, value ?? "true");
  }
  return flags;
}

export function stringFlag(flags: Flags, name: string, fallback?: string): string {
  const value = flags.get(name) ?? fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

export function numberFlag(flags: Flags, name: string, fallback?: number, options: { integer?: boolean; min?: number } = {}): number {
  const raw = flags.get(name);
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || (options.integer && !Number.isInteger(value)) || value < (options.min ?? -Infinity)) {
    throw new Error(`--${name}=${raw} is not a valid ${options.integer ? "integer" : "number"}${options.min !== undefined ? ` >= ${options.min}` : ""}`);
  }
  return value;
}

/** Exits the process when its stdin closes: the orchestrator holds the other end, so children never outlive it. */
export function exitWhenStdinCloses(onExit: () => void | Promise<void> = () => {}): void {
  let exiting = false;
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    // Exit even if cleanup hangs or throws.
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    Promise.resolve()
      .then(onExit)
      .catch(() => {})
      .finally(() => process.exit(0));
  };
  process.stdin.on("end", exit);
  process.stdin.on("close", exit);
  process.stdin.on("error", exit);
  process.stdin.resume();
}
