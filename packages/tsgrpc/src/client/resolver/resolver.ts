import type { SocketAddress } from "../../transport/transport.js";
import type { ServiceConfig } from "../config/service-config.js";
import type { Target } from "./target.js";

/**
 * The channel's side of name resolution (grpc-go's resolver.Builder/Resolver, grpc-js's Resolver): a
 * resolver made for one target pushes what it finds to its listener, as often as it learns something
 * new, until it is closed. The channel asks for a fresh look with `resolveNow()` (after connections
 * failed, say); a resolver may also push by itself (a watch, a TTL).
 */

/** One endpoint: the addresses of one server, tried in order by policies that connect to one of them. */
export type Endpoint = readonly SocketAddress[];

/** What a resolver found. */
export interface ResolverUpdate {
  /** Every endpoint the target names, in the resolver's order. */
  readonly endpoints: readonly Endpoint[];
  /**
   * The service config the name carries (none: the channel's default), or why the one it carries cannot
   * be used (the channel then keeps the one it had).
   */
  readonly serviceConfig?: ServiceConfig | Error;
  /** Whatever else the resolver wants a balancing policy to see. */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Where a resolver sends what it found. */
export interface ResolverListener {
  onUpdate(update: ResolverUpdate): void;
  /** Resolution failed; the channel keeps what it had and asks again later (`resolveNow`). */
  onError(error: Error): void;
}

/** A resolver at work for one channel. */
export interface NameResolver {
  /** Look again now (a hint: a resolver may coalesce or delay it). */
  resolveNow(): void;
  /** Stop; nothing is pushed after this. */
  close(): void;
}

/** Makes resolvers for targets of one scheme; registered by scheme (resolver-registry.ts). */
export interface ResolverFactory {
  readonly scheme: string;
  /** Checks a target's syntax at createChannel; throws a TypeError (RangeError: value out of range). */
  validate?(target: Target): void;
  /** The `:authority` of calls on the target (default: its endpoint, the host:port the user named). */
  authority?(target: Target): string;
  create(target: Target, listener: ResolverListener): NameResolver;
}
