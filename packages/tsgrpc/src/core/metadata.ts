/**
 * Metadata: an ordered multimap of lower-case keys to values. Keys ending in "-bin" hold bytes, all others
 * hold printable ASCII strings (PROTOCOL-HTTP2.md "Custom-Metadata"; see FIELD_VALUE for what else is
 * tolerated). Invalid keys or values throw a
 * TypeError when added, so a bad header is caught where it was made rather than on the wire.
 */
export type MetadataValue = string | Uint8Array;

/** Everything the API accepts where metadata is expected. */
export type MetadataInit =
  | Metadata
  | Record<string, MetadataValue | readonly MetadataValue[] | undefined>
  | Iterable<readonly [string, MetadataValue]>;

/** Legal key characters; upper-case ASCII letters are accepted and lowered. */
const KEY_PATTERN_ANY_CASE = /^[0-9A-Za-z_.-]+$/;
/**
 * Text metadata values that may be sent. gRPC's ASCII-Value is printable ASCII (0x20-0x7E, PROTOCOL-HTTP2.md),
 * and implementations are asked to be lenient on receipt: tsgrpc accepts whatever node:http2 delivers and
 * never rejects a request for it. The rule that keeps this consistent: anything received can be sent
 * back. So a value may be any HTTP field value (RFC 9110 §5.5, RFC 9113 §8.2.1): printable ASCII, HTAB
 * and the obs-text bytes 0x80-0xFF (one JS character U+0080-U+00FF each, written as that byte, the way
 * node reads them), but never NUL, CR, LF or other controls, and never characters above U+00FF, which
 * have no single-byte form. grpc-go likewise passes received values through untouched.
 */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function isBinaryKey(key: string): boolean {
  return key.endsWith("-bin");
}

export class Metadata implements Iterable<[string, MetadataValue]> {
  private readonly entriesByKey = new Map<string, MetadataValue[]>();

  constructor(init?: MetadataInit) {
    if (init !== undefined) this.addAll(init);
  }

  /** Returns `init` itself when it is already Metadata, otherwise a new Metadata holding it. */
  static from(init: MetadataInit | undefined): Metadata {
    return init instanceof Metadata ? init : new Metadata(init);
  }

  /** Appends a value; repeated keys keep their order. */
  add(key: string, value: MetadataValue): this {
    const k = validateKey(key);
    validateValue(k, value);
    const list = this.entriesByKey.get(k);
    if (list) list.push(value);
    else this.entriesByKey.set(k, [value]);
    return this;
  }

  /** Replaces every value of `key` with `value`. */
  set(key: string, value: MetadataValue): this {
    const k = validateKey(key);
    validateValue(k, value);
    this.entriesByKey.set(k, [value]);
    return this;
  }

  /** The first value of `key`, or undefined. */
  get(key: string): MetadataValue | undefined {
    return this.entriesByKey.get(key.toLowerCase())?.[0];
  }

  /** The first value of a text key as a string (bytes are decoded as UTF-8). */
  getString(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined || typeof v === "string" ? v : Buffer.from(v).toString("utf8");
  }

  getAll(key: string): MetadataValue[] {
    return [...(this.entriesByKey.get(key.toLowerCase()) ?? [])];
  }

  has(key: string): boolean {
    return this.entriesByKey.has(key.toLowerCase());
  }

  delete(key: string): boolean {
    return this.entriesByKey.delete(key.toLowerCase());
  }

  keys(): IterableIterator<string> {
    return this.entriesByKey.keys();
  }

  /** Number of distinct keys. */
  get size(): number {
    return this.entriesByKey.size;
  }

  *[Symbol.iterator](): IterableIterator<[string, MetadataValue]> {
    for (const [key, values] of this.entriesByKey) for (const v of values) yield [key, v];
  }

  clone(): Metadata {
    const copy = new Metadata();
    for (const [key, values] of this.entriesByKey) copy.entriesByKey.set(key, [...values]);
    return copy;
  }

  /** Appends every entry of `other` (already validated, so no re-check). */
  merge(other: MetadataInit): this {
    if (other instanceof Metadata) {
      for (const [key, values] of other.entriesByKey) {
        const list = this.entriesByKey.get(key);
        if (list) list.push(...values);
        else this.entriesByKey.set(key, [...values]);
      }
      return this;
    }
    return this.addAll(other);
  }

  /** A plain object: each key to its list of values (bytes as Buffer). Handy for logging and tests. */
  toJSON(): Record<string, MetadataValue[]> {
    const out: Record<string, MetadataValue[]> = {};
    for (const [key, values] of this.entriesByKey) out[key] = [...values];
    return out;
  }

  /** Adds an entry without validation: for the protocol layer, which has already decoded a legal header. */
  addTrusted(key: string, value: MetadataValue): void {
    const list = this.entriesByKey.get(key);
    if (list) list.push(value);
    else this.entriesByKey.set(key, [value]);
  }

  private addAll(init: MetadataInit): this {
    if (init instanceof Metadata) return this.merge(init);
    if (isIterable(init)) {
      for (const [key, value] of init) this.add(key, value);
      return this;
    }
    for (const key of Object.keys(init)) {
      const value = init[key];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value as readonly MetadataValue[]) this.add(key, v);
      else this.add(key, value as MetadataValue);
    }
    return this;
  }
}

function isIterable(v: object): v is Iterable<readonly [string, MetadataValue]> {
  return typeof (v as Partial<Iterable<unknown>>)[Symbol.iterator] === "function";
}

function validateKey(key: string): string {
  // Test the key as given, not lowered: toLowerCase maps some non-ASCII letters to ASCII ("\u212A" KELVIN SIGN -> "k").
  if (!KEY_PATTERN_ANY_CASE.test(key)) {
    throw new TypeError(`metadata key ${JSON.stringify(key)} is not legal: use only [0-9a-z_.-]`);
  }
  return key.toLowerCase();
}

function validateValue(key: string, value: MetadataValue): void {
  if (isBinaryKey(key)) {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`metadata key "${key}" ends in -bin, so its value must be a Uint8Array/Buffer`);
    }
    return;
  }
  if (typeof value !== "string") {
    throw new TypeError(`metadata key "${key}" is a text key, so its value must be a string (use a "-bin" key for bytes)`);
  }
  if (!FIELD_VALUE.test(value)) {
    throw new TypeError(
      `metadata value for "${key}" is not a valid HTTP/2 field value: use printable ASCII (0x20-0x7E); ` +
        "tabs and characters U+0080-U+00FF (sent as single bytes) are tolerated; use a \"-bin\" key for anything else",
    );
  }
  // HTTP/2 forbids a field value that starts or ends with whitespace (RFC 9113 §8.2.1): node drops such
  // a header without a word, so refuse it here where the caller can see why.
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  if (value.length > 0 && (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09)) {
    throw new TypeError(`metadata value for "${key}" must not start or end with a space or tab (HTTP/2 would drop it)`);
  }
}
