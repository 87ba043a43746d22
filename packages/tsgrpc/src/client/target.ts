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

/** Splits "host:port", "[v6]:port", "host" into parts; `defaultPort` fills a missing port. */
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
  if (host === "") throw new Error(`target "${text}" has no host`);
  if (portText === undefined || portText === "") {
    if (defaultPort === undefined) throw new Error(`target "${text}" has no port`);
    return { host, port: defaultPort };
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`target "${text}" has an invalid port`);
  return { host, port };
}
