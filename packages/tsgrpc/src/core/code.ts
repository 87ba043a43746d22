/** The 17 gRPC status codes (grpc/grpc doc/statuscodes.md). */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** The upper-case name of a code, e.g. "DEADLINE_EXCEEDED"; "CODE_<n>" for numbers outside the table. */
export function codeName(code: number): string {
  return Code[code] ?? `CODE_${code}`;
}

/** True for the numbers 0..16. */
export function isKnownCode(code: number): code is Code {
  return Number.isInteger(code) && code >= 0 && code <= 16;
}
