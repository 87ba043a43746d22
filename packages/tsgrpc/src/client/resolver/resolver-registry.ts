import type { ResolverFactory } from "./resolver.js";

/**
 * Resolver factories by scheme. The built-in schemes (builtin-resolvers.ts) are registered through the
 * same public call as a user's (`registerResolver`); a later registration of a scheme replaces the earlier.
 */
const factories = new Map<string, ResolverFactory>();

export function registerResolverFactory(factory: ResolverFactory): void {
  factories.set(factory.scheme.toLowerCase(), factory);
}

export function getResolverFactory(scheme: string): ResolverFactory | undefined {
  return factories.get(scheme);
}

export function registeredSchemes(): ReadonlySet<string> {
  return new Set(factories.keys());
}
