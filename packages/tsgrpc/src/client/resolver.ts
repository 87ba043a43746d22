import { lookup } from "node:dns/promises";
import type { SocketAddress } from "../transport/transport.js";
import { splitHostPort, type Target } from "./target.js";

/**
 * Resolvers turn a target into addresses. They are a registry keyed by scheme; the built-in ones
 * register through the same public call as any user-supplied one (grpc-go's resolver package).
 */
export interface Resolver {
  readonly scheme: string;
  resolve(target: Target): Promise<SocketAddress[]>;
  /** The `:authority` for calls on this target (the host:port the user named, by default). */
  authority?(target: Target): string;
}

const resolvers = new Map<string, Resolver>();

export function registerResolver(resolver: Resolver): void {
  resolvers.set(resolver.scheme, resolver);
}

export function getResolver(scheme: string): Resolver | undefined {
  return resolvers.get(scheme);
}

export function registeredSchemes(): ReadonlySet<string> {
  return new Set(resolvers.keys());
}

const DEFAULT_DNS_PORT = 443;

registerResolver({
  scheme: "dns",
  async resolve(target) {
    const { host, port } = splitHostPort(target.endpoint, DEFAULT_DNS_PORT);
    const found = await lookup(host, { all: true, verbatim: true });
    if (found.length === 0) throw new Error(`DNS lookup of ${host} found no address`);
    return found.map((entry) => ({ host: entry.address, port }));
  },
  authority(target) {
    return target.endpoint;
  },
});

/** `ipv4:a:p,b:p` and `ipv6:[a]:p,[b]:p`: literal address lists, no lookup. */
for (const scheme of ["ipv4", "ipv6"]) {
  registerResolver({
    scheme,
    async resolve(target) {
      return target.endpoint.split(",").map((part) => splitHostPort(part.trim(), DEFAULT_DNS_PORT));
    },
    authority(target) {
      return target.endpoint.split(",")[0]!.trim();
    },
  });
}

registerResolver({
  scheme: "unix",
  async resolve(target) {
    if (target.endpoint === "") throw new Error(`target "${target.original}" has no socket path`);
    return [{ path: target.endpoint }];
  },
  authority: () => "localhost",
});

registerResolver({
  scheme: "unix-abstract",
  async resolve(target) {
    return [{ path: target.endpoint, abstract: true }];
  },
  authority: () => "localhost",
});
