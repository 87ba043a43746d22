// What soak.ts (the orchestrator) and load/soak-load.ts (its load process) say to each other: one JSON
// command per line on the load process's stdin, one JSON reply per line on its stdout.

/** The kinds of call a soak phase makes; every call of a phase is of one kind. */
export const SOAK_KINDS = ["unary", "server-stream", "client-stream", "bidi", "cancel", "deadline"] as const;
export type SoakKind = (typeof SOAK_KINDS)[number];

/** Calls of the "cancel" kind take turns between these, call by call. */
export const CANCEL_VARIANTS = ["server-stream", "client-stream", "bidi", "wait"] as const;

export type SoakCommand =
  /** Makes `calls` calls of `kind`, `concurrency` at a time; starts no new call after `stopAt` (ms since the epoch). */
  | { op: "run"; kind: SoakKind; calls: number; concurrency: number; stopAt: number }
  /** Opens `connections` channels (one HTTP/2 connection each), each makes one unary call, then they stay idle. */
  | { op: "idle-open"; connections: number }
  /** Closes the channels of idle-open. */
  | { op: "idle-close" };

export interface PhaseResult {
  kind: SoakKind;
  /** Calls started. */
  calls: number;
  /** Calls that ended as they should: OK with the right response, or for cancel and deadline, CANCELLED and DEADLINE_EXCEEDED. */
  ok: number;
  /** Calls that ended any other way (a wrong status, a wrong response, a cancelled call that succeeded). */
  errors: number;
  /** Calls still running when the phase gave up waiting for them (counted in errors too). */
  unfinished: number;
  seconds: number;
  /** Why the phase stopped before making every call. */
  stopped?: string;
  /** The distinct error messages (up to a few) and how often each occurred. */
  errorSamples: { message: string; count: number }[];
}

export interface IdleOpenResult {
  opened: number;
  errors: number;
  firstError?: string;
}

export interface IdleCloseResult {
  closed: number;
}

/** A reply that reports a command the load process could not carry out at all. */
export interface FailedReply {
  failed: string;
}
