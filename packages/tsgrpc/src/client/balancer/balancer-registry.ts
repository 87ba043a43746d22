import type { BalancerFactory } from "./balancer.js";

/** Load-balancing policies by name; the built-in ones (pick_first, round_robin) register here too. */
const factories = new Map<string, BalancerFactory>();

export function registerBalancer(factory: BalancerFactory): void {
  factories.set(factory.name, factory);
}

export function getBalancer(name: string): BalancerFactory | undefined {
  return factories.get(name);
}

/**
 * The first entry of a service config's loadBalancingConfig whose policy is registered, with its config;
 * undefined when none is (the channel then uses pick_first).
 */
export function selectBalancer(
  configs: ReadonlyArray<Readonly<Record<string, unknown>>>,
): { factory: BalancerFactory; config: Readonly<Record<string, unknown>> } | undefined {
  for (const entry of configs) {
    const [name] = Object.keys(entry);
    const factory = name === undefined ? undefined : factories.get(name);
    if (factory) return { factory, config: entry[name!] as Readonly<Record<string, unknown>> };
  }
  return undefined;
}
