/**
 * Compile-time assertions for type-level tests. They do nothing at run time; `npm run typecheck`, which
 * covers the test folders too, fails when one does not hold.
 *
 *   expectType<Equal<typeof value, Expected>>(true);
 */

/** true when A and B are the same type (not merely assignable to each other), else false. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when T is `true`. */
export function expectType<T extends true>(_holds: T): void {}
