import { lookup } from "node:dns/promises";
import type { SocketAddress } from "../../transport/transport.js";
import { registerResolver } from "./register-resolver.js";
import { isIPv4Literal, isIPv6Literal, splitHostPort, type Target } from "./target.js";

/**
 * The built-in schemes, registered through the same public call as a user's resolver (grpc-go's
 * resolver package does the same). Importing this module registers them.
 */

export const BUILT_IN_FORMS = [
  "host:port",
  "dns:[//authority/]host[:port]",
  "ipv4:addr:port[,addr:port...]",
  "ipv6:[addr]:port[,[addr]:port...]",
  "unix:path",
  "unix:///absolute/path",
  "unix-abstract:name",
];
export const BUILT_IN_SCHEMES = new Set(["dns", "ipv4", "ipv6", "unix", "unix-abstract"]);

const DEFAULT_DNS_PORT = 443;

/** A host name or address that DNS can be asked about, with its port (443 when none is given). */
function dnsHostPort(target: Target): { host: string; port: number } {
  if (target.endpoint === "" && target.authority !== "") {
    throw new TypeError(`"dns://${target.authority}" names a DNS server, not a host: write "dns:///${target.authority}" or "${target.authority}"`);
  }
  const { host, port } = splitHostPort(target.endpoint, DEFAULT_DNS_PORT);
  if (host.includes(":") || target.endpoint.startsWith("[")) {
    if (!isIPv6Literal(host)) throw new TypeError(`"${host}" is neither a host name nor an IPv6 address (an IPv6 address with a port is written [addr]:port)`);
  } else if (/[\s/\\?#@[\],%]/.test(host)) {
    throw new TypeError(`"${host}" is not a valid host name`);
  }
  return { host, port };
}

/** `dns:`: every A and AAAA address of the host, in the order the system resolver gives them. */
registerResolver({
  scheme: "dns",
  validate(target) {
    dnsHostPort(target);
  },
  async resolve(target) {
    const { host, port } = dnsHostPort(target);
    const found = await lookup(host, { all: true, verbatim: true });
    if (found.length === 0) throw new Error(`DNS lookup of ${host} found no address`);
    return found.map((entry) => ({ host: entry.address, port }));
  },
  authority(target) {
    return target.endpoint;
  },
});

/** `ipv4:a:p,b:p` and `ipv6:[a]:p,[b]:p`: literal address lists, no lookup; the port defaults to 443. */
for (const [scheme, isLiteral] of [
  ["ipv4", isIPv4Literal],
  ["ipv6", isIPv6Literal],
] as const) {
  const addresses = (target: Target): SocketAddress[] =>
    target.endpoint.split(",").map((part) => {
      const { host, port } = splitHostPort(part.trim(), DEFAULT_DNS_PORT);
      if (!isLiteral(host)) throw new TypeError(`"${host}" is not an ${scheme === "ipv4" ? "IPv4" : "IPv6"} address`);
      return { host, port };
    });
  registerResolver({
    scheme,
    validate: (target) => void addresses(target),
    resolve: async (target) => addresses(target),
    authority(target) {
      return target.endpoint.split(",")[0]!.trim();
    },
  });
}

/** A socket path: not empty, no NUL byte; `unix://` takes no authority (the path after it is absolute). */
function socketPath(target: Target, what: string): string {
  if (target.scheme === "unix" && target.authority !== "") {
    const path = target.authority + (target.endpoint === "/" ? "" : target.endpoint);
    throw new TypeError(`unix:// is followed by an absolute path: write "unix:///${path}" or "unix:${path}"`);
  }
  if (target.endpoint === "") throw new TypeError(`it has no ${what}`);
  if (target.endpoint.includes("\0")) throw new TypeError(`the ${what} contains a NUL byte`);
  return target.endpoint;
}

registerResolver({
  scheme: "unix",
  validate: (target) => void socketPath(target, "socket path"),
  async resolve(target) {
    return [{ path: socketPath(target, "socket path") }];
  },
  authority: () => "localhost",
});

registerResolver({
  scheme: "unix-abstract",
  validate: (target) => void socketPath(target, "abstract socket name"),
  async resolve(target) {
    return [{ path: socketPath(target, "abstract socket name"), abstract: true }];
  },
  authority: () => "localhost",
});
