/**
 * The `grpc-timeout` header: 1 to 8 ASCII digits and a unit (H M S m u n). The sender picks the finest
 * unit whose value fits in 8 digits, rounding up so the receiver never sees a shorter timeout.
 */
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ["n", 1e-6],
  ["u", 1e-3],
  ["m", 1],
  ["S", 1_000],
  ["M", 60_000],
  ["H", 3_600_000],
];
const MAX_VALUE = 99_999_999;

export function encodeTimeout(ms: number): string {
  const positive = Math.max(ms, 0);
  for (const [unit, unitMs] of UNITS) {
    const value = Math.ceil(positive / unitMs);
    if (value <= MAX_VALUE) return `${Math.max(value, 1)}${unit}`;
  }
  return `${MAX_VALUE}H`;
}

const TIMEOUT_PATTERN = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS = new Map(UNITS);

/** Milliseconds, or undefined when the header is malformed. */
export function parseTimeout(value: string): number | undefined {
  const match = TIMEOUT_PATTERN.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS.get(match[2]!)!;
}
