import { lookup } from "node:dns/promises";
import type { SocketAddress } from "../transport/transport.js";
import { isIPv4Literal, isIPv6Literal, parseTarget, splitHostPort, type Target } from "./target.js";

/**
 * Resolvers turn a target into addresses. They are a registry keyed by scheme; the built-in ones
 * register through the same public call as any user-supplied one (grpc-go's resolver package).
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

const BUILT_IN_FORMS = [
  "host:port",
  "dns:[//authority/]host[:port]",
  "ipv4:addr:port[,addr:port...]",
  "ipv6:[addr]:port[,[addr]:port...]",
  "unix:path",
  "unix:///absolute/path",
  "unix-abstract:name",
];
const BUILT_IN_SCHEMES = new Set(["dns", "ipv4", "ipv6", "unix", "unix-abstract"]);

/** The target forms a channel takes, for error messages: the built-in ones and every registered scheme. */
export function acceptedTargetForms(): string {
  const custom = [...resolvers.keys()].filter((scheme) => !BUILT_IN_SCHEMES.has(scheme)).map((scheme) => `${scheme}:...`);
  return [...BUILT_IN_FORMS, ...custom].join(", ");
}

/** `scheme://` at the start: a URL, or a target with an authority. */
const URL_LIKE = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Parses and checks a channel target, and finds its resolver: what createChannel does before anything
 * else. Throws a TypeError (a RangeError for a port out of range) naming the target, what is wrong with
 * it and the accepted forms. The syntax of each scheme is its resolver's to check (`Resolver.validate`),
 * so a registered resolver decides what its own targets look like.
 */
export function resolveTarget(text: string): { target: Target; resolver: Resolver } {
  if (typeof text !== "string") throw new TypeError(`a channel target is a string, got ${text === null ? "null" : typeof text}`);
  if (text.trim() === "") throw invalid(text, new TypeError("the target is empty"));
  const target = parseTarget(text, registeredSchemes());
  const url = URL_LIKE.exec(text);
  // A scheme that no resolver is registered for falls back to DNS (naming.md); with "//" after it the
  // text is a URL, never a host name, so say what it should have been.
  if (url && target.scheme === "dns" && url[1]!.toLowerCase() !== "dns") throw invalid(text, new TypeError(urlProblem(text, url[0], url[1]!.toLowerCase())));
  const resolver = getResolver(target.scheme);
  if (!resolver) throw invalid(text, new TypeError(`no resolver is registered for scheme "${target.scheme}"`));
  try {
    resolver.validate?.(target);
  } catch (err) {
    throw invalid(text, err);
  }
  return { target, resolver };
}

function invalid(text: string, reason: unknown): TypeError | RangeError {
  const why = reason instanceof Error ? reason.message : String(reason);
  const message = `invalid channel target "${text}": ${why}. Accepted forms: ${acceptedTargetForms()}`;
  return reason instanceof RangeError ? new RangeError(message, { cause: reason }) : new TypeError(message, { cause: reason });
}

function urlProblem(text: string, prefix: string, scheme: string): string {
  if (scheme !== "http" && scheme !== "https") return `unknown scheme "${scheme}" (no resolver is registered for it)`;
  // What the URL names, as host:port, with the port the URL implies when it has none.
  let hostPort = text.slice(prefix.length).split(/[/?#]/)[0]!;
  hostPort = hostPort.slice(hostPort.lastIndexOf("@") + 1);
  const hasPort = /^\[.*\]:\d*$/.test(hostPort) || (!hostPort.startsWith("[") && hostPort.includes(":"));
  if (!hasPort) hostPort = `${hostPort || "host"}:${scheme === "https" ? 443 : 80}`;
  return scheme === "http"
    ? `a channel target is not a URL: write "${hostPort}" (plaintext is the default: createChannel("${hostPort}"))`
    : `a channel target is not a URL: write "${hostPort}" and pass TLS credentials for https: createChannel("${hostPort}", ChannelCredentials.tls())`;
}

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
