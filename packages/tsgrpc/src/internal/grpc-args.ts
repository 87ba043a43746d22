/**
 * The engine behind "options by their usual names": gRPC channel arguments ("grpc.keepalive_time_ms", …)
 * given as keys of a ChannelOptions or ServerOptions object are turned into tsgrpc's typed fields, once,
 * when the channel or server is made. The tables of names live beside each side's options
 * (client/channel-args.ts, server/server-args.ts); this file only knows how to apply a table.
 *
 * Every key containing a "." is taken for a channel-argument name (typed fields never contain one). A
 * name that is not in the side's table is an error naming it and the closest known name: a misspelt
 * keepalive setting must not be dropped without a word.
 */

/** How a value given under a gRPC name becomes the typed field's value (or why it is refused). */
export type ArgValue = "ms" | "count" | "message-length" | "bool" | "string" | "compression";

/** One entry of a side's table. */
export type ArgRule =
  /** Sets typed field `field` ("a" or "a.b" for a nested object such as `backoff.initialMs`). */
  | { readonly field: string; readonly value: ArgValue }
  /**
   * Accepted for compatibility but changes nothing in tsgrpc; `why` says so in the docs. With `accepts`,
   * only the values it approves are taken, the others are an error carrying `why`.
   */
  | { readonly ignored: string; readonly accepts?: (value: unknown) => boolean }
  /** A known gRPC name tsgrpc does not support: always an error carrying `why`. */
  | { readonly unsupported: string };

export type ArgTable = Readonly<Record<string, ArgRule>>;

export interface ArgSide {
  /** "createChannel" or "createServer", for messages. */
  readonly where: string;
  readonly table: ArgTable;
  /** The other side's table: a server name given to a channel gets a message saying so. */
  readonly otherTable: ArgTable;
  readonly otherWhere: string;
}

/** True for keys that are channel-argument names rather than typed fields. */
export function isArgName(key: string): boolean {
  return key.includes(".");
}

/**
 * Returns `options` with every channel-argument key replaced by its typed field. The same object comes
 * back when there is no such key (the common case costs one scan of the keys). Throws an Error naming the
 * option for an unknown or unsupported name, a bad value, or a conflict with the typed field.
 */
export function applyGrpcArgs<T extends object>(options: T, side: ArgSide): T {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(options)) {
    if (!isArgName(key)) continue;
    const raw = (options as Record<string, unknown>)[key];
    out ??= { ...(options as Record<string, unknown>) };
    delete out[key];
    if (raw === undefined) continue;
    const rule = side.table[key];
    if (rule === undefined) throw unknownName(key, side);
    if ("unsupported" in rule) throw new Error(`${side.where}: option "${key}" is not supported by tsgrpc: ${rule.unsupported}`);
    if ("ignored" in rule) {
      if (rule.accepts && !rule.accepts(raw)) {
        throw new Error(`${side.where}: option "${key}" = ${show(raw)} is not supported by tsgrpc: ${rule.ignored}`);
      }
      continue;
    }
    setField(out, rule.field, convert(key, raw, rule.value, side.where), key, side.where, options as Record<string, unknown>);
  }
  return (out ?? options) as T;
}

/** The typed field (maybe nested) gets `value`; a different value already there is a conflict. */
function setField(
  out: Record<string, unknown>,
  field: string,
  value: unknown,
  name: string,
  where: string,
  original: Record<string, unknown>,
): void {
  const dot = field.indexOf(".");
  if (dot === -1) {
    const given = original[field];
    if (given !== undefined && given !== value) {
      throw new Error(`${where}: option "${name}" = ${show(value)} conflicts with ${field} = ${show(given)}; give only one`);
    }
    out[field] = value;
    return;
  }
  const parent = field.slice(0, dot);
  const child = field.slice(dot + 1);
  const container = out[parent];
  const nested: Record<string, unknown> = container !== null && typeof container === "object" ? { ...(container as object) } : {};
  const given = (original[parent] as Record<string, unknown> | undefined)?.[child];
  if (given !== undefined && given !== value) {
    throw new Error(`${where}: option "${name}" = ${show(value)} conflicts with ${field} = ${show(given)}; give only one`);
  }
  nested[child] = value;
  out[parent] = nested;
}

/** Largest int a gRPC channel argument holds (C-core args are C ints): "no limit" in several of them. */
const INT_MAX = 2 ** 31 - 1;

function convert(name: string, raw: unknown, kind: ArgValue, where: string): unknown {
  const bad = (expected: string): Error => new Error(`${where}: option "${name}" must be ${expected}, got ${show(raw)}`);
  switch (kind) {
    case "ms":
    case "count":
      if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0) {
        throw bad(kind === "ms" ? "a whole number of milliseconds >= 0" : "a whole number >= 0");
      }
      return raw;
    case "message-length":
      // -1 means "no limit" in gRPC's message-length arguments.
      if (raw === -1) return Infinity;
      if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0) throw bad("a whole number of bytes >= 0, or -1 for no limit");
      return raw >= INT_MAX ? Infinity : raw;
    case "bool":
      if (raw === 0 || raw === false) return false;
      if (raw === 1 || raw === true) return true;
      throw bad("0 or 1 (or false/true)");
    case "string":
      if (typeof raw !== "string") throw bad("a string");
      return raw;
    case "compression": {
      // gRPC's compression algorithm enum (grpc_compression_algorithm, grpc-js `compressionAlgorithms`).
      const byNumber = ["identity", "deflate", "gzip"];
      if (typeof raw === "number" && byNumber[raw] !== undefined) return byNumber[raw];
      if (typeof raw === "string" && raw.length > 0) return raw;
      throw bad(`0 (identity), 1 (deflate), 2 (gzip) or a compression name`);
    }
  }
}

function unknownName(name: string, side: ArgSide): Error {
  if (side.otherTable[name] !== undefined && !("unsupported" in side.otherTable[name]!)) {
    return new Error(`${side.where}: option "${name}" is an option of ${side.otherWhere}, not of ${side.where}`);
  }
  const suggestion = closest(name, Object.keys(side.table));
  return new Error(
    `${side.where}: unknown option "${name}"` + (suggestion ? `; did you mean "${suggestion}"?` : "") +
      ` (the gRPC names tsgrpc knows are listed in docs/options.md)`,
  );
}

/** The known name nearest to `name` by edit distance, if it is near enough to be a likely typo. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  // A third of the name may differ: "grpc.keepalive_time" → "grpc.keepalive_time_ms", not any random name.
  return bestDistance <= Math.max(3, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
