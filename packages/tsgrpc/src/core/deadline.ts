/**
 * Deadlines are absolute times in milliseconds on the `Date.now()` clock; `Infinity` means none. Calls take
 * either a relative `timeoutMs` or an absolute `deadline`, and the earlier of the two wins.
 */
export type Deadline = number;

export function resolveDeadline(options: { timeoutMs?: number; deadline?: Date | number }): Deadline {
  let deadline = Infinity;
  if (options.deadline !== undefined) {
    deadline = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
    // An invalid Date is NaN, which would make every comparison false and the timer fire at once.
    if (Number.isNaN(deadline)) throw new RangeError(`deadline must be a valid time, got ${String(options.deadline)}`);
  }
  if (options.timeoutMs !== undefined) {
    if (!(options.timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${options.timeoutMs}`);
    deadline = Math.min(deadline, Date.now() + options.timeoutMs);
  }
  return deadline;
}

/** Milliseconds left before `deadline` (never negative; Infinity when there is none). */
export function timeRemaining(deadline: Deadline): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - Date.now());
}

/**
 * setTimeout for a deadline. Node clamps delays above 2^31-1 ms, so far deadlines re-arm until reached.
 * Returns a function that disarms it.
 */
export function onDeadline(deadline: Deadline, fire: () => void): () => void {
  if (deadline === Infinity) return disarmNothing;
  const MAX_DELAY = 2 ** 31 - 1;
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    // A deadline already passed still fires from a timer (delay 0), never synchronously: the caller has
    // not got the disarm function yet, and callbacks that call it would throw.
    const left = Math.max(0, deadline - Date.now());
    timer = setTimeout(left > MAX_DELAY ? arm : fire, Math.min(left, MAX_DELAY));
  };
  arm();
  return () => clearTimeout(timer);
}

/** Shared by every call without a deadline: one closure fewer per call. */
function disarmNothing(): void {}
