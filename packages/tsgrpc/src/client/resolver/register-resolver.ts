import type { SocketAddress } from "../../transport/transport.js";
import { OneShotResolver } from "./internal/one-shot-resolver.js";
import { registerResolverFactory } from "./resolver-registry.js";
import type { Target } from "./target.js";

/**
 * A resolver in its simplest public shape: a function from a target to addresses, asked again whenever
 * the channel wants a fresh look. `registerResolver` adapts it to the channel's push-based resolvers
 * (resolver.ts): each answer becomes an update with one endpoint per address.
 */
export interface Resolver {
  readonly scheme: string;
  resolve(target: Target): Promise<SocketAddress[]>;
  /** The `:authority` for calls on this target (the host:port the user named, by default). */
  authority?(target: Target): string;
  /**
   * Checks the syntax of a target of this scheme when a channel is created, so that a malformed one
   * fails `createChannel` at once instead of every call failing UNAVAILABLE later. Throw to reject it
   * (a TypeError, or a RangeError for a value out of range), with a message saying what is wrong; the
   * channel adds the target and the accepted forms. Optional: without it every target of the scheme is
   * accepted, and whatever is wrong surfaces when `resolve` runs.
   */
  validate?(target: Target): void;
}

/** Resolvers by scheme; the built-in ones (dns, ipv4, ipv6, unix, unix-abstract) register here too. */
export function registerResolver(resolver: Resolver): void {
  registerResolverFactory({
    scheme: resolver.scheme,
    ...(resolver.validate ? { validate: (target: Target) => resolver.validate!(target) } : {}),
    ...(resolver.authority ? { authority: (target: Target) => resolver.authority!(target) } : {}),
    create: (target, listener) => new OneShotResolver(resolver, target, listener),
  });
}
