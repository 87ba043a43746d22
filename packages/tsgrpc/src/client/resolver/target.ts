/**
 * A channel target in gRPC naming syntax (grpc/grpc doc/naming.md): `scheme:rest`, or plain `host:port`
 * which means `dns:host:port`. The resolver registered for the scheme interprets the rest.
 */
export interface Target {
  /** "dns", "ipv4", "ipv6", "unix", "unix-abstract", or any registered scheme. */
  readonly scheme: string;
  /** The DNS authority in `dns://server/host` (unused here, kept for resolvers that care). */
  readonly authority: string;
  /** What follows the scheme (and authority): "host:port", "a:p,b:p", "/path/to.sock", ... */
  readonly endpoint: string;
  /** The text the channel was created with. */
  readonly original: string;
}

const SCHEME_PATTERN = /^([a-z][a-z0-9+.-]*):(.*)$/i;

/** Schemes the parser recognizes; anything else before a ':' is taken as a host name. */
export function parseTarget(text: string, knownSchemes: ReadonlySet<string>): Target {
  const match = SCHEME_PATTERN.exec(text);
  if (match && knownSchemes.has(match[1]!.toLowerCase())) {
    const scheme = match[1]!.toLowerCase();
    let rest = match[2]!;
    let authority = "";
    if (rest.startsWith("//")) {
      const slash = rest.indexOf("/", 2);
      authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
      rest = slash < 0 ? "" : rest.slice(slash + 1);
      // unix:///abs/path keeps its leading slash: the authority is empty and the path absolute.
      if (scheme === "unix") rest = `/${rest}`;
    }
    return { scheme, authority, endpoint: rest, original: text };
  }
  return { scheme: "dns", authority: "", endpoint: text, original: text };
}

/**
 * Splits "host:port", "[v6]:port", "host" into parts; `defaultPort` fills a missing port. A missing host
 * is a TypeError; a port that is not a decimal number from 0 to 65535 a RangeError.
 */
export function splitHostPort(text: string, defaultPort: number | undefined): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else {
    const colon = text.lastIndexOf(":");
    // A bare IPv6 address has several colons and no port.
    if (colon >= 0 && text.indexOf(":") === colon) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else {
      host = text;
    }
  }
  if (host === "") throw new TypeError(`"${text}" has no host`);
  if (portText === undefined || portText === "") {
    if (defaultPort === undefined) throw new TypeError(`"${text}" has no port`);
    return { host, port: defaultPort };
  }
  // Digits only: Number() would also take " 80", "0x50" or "1e3".
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new RangeError(`the port "${portText}" of "${text}" is not a number from 0 to 65535`);
  return { host, port };
}

/** A dotted-quad IPv4 address ("127.0.0.1"). */
export function isIPv4Literal(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

/** An IPv6 address without brackets ("::1", "fe80::1%eth0", "::ffff:10.0.0.1"). */
export function isIPv6Literal(text: string): boolean {
  const zone = text.indexOf("%");
  if (zone === 0 || zone === text.length - 1) return false;
  let address = zone < 0 ? text : text.slice(0, zone);
  // An embedded IPv4 address at the end counts as two groups.
  let groups = 0;
  const lastColon = address.lastIndexOf(":");
  if (address.includes(".")) {
    if (lastColon < 0 || !isIPv4Literal(address.slice(lastColon + 1))) return false;
    address = address.slice(0, lastColon + 1) + "0:0";
  }
  const halves = address.split("::");
  if (halves.length > 2) return false;
  for (const half of halves) {
    if (half === "") continue;
    for (const group of half.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return false;
      groups++;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}
