import type { SocketAddress } from "../transport/transport.js";

/**
 * Parses what `bind` accepts: "host:port", "[v6]:port", ":port" (every interface), "unix:path",
 * "unix:///abs/path", "unix-abstract:name". "localhost" means both loopbacks on the same port.
 */
export function parseBindAddress(text: string): SocketAddress[] {
  if (text.startsWith("unix-abstract:")) return [{ path: text.slice("unix-abstract:".length), abstract: true }];
  if (text.startsWith("unix://")) return [{ path: text.slice("unix://".length) }];
  if (text.startsWith("unix:")) return [{ path: text.slice("unix:".length) }];
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!match) throw new Error(`cannot bind "${text}": expected host:port, [ipv6]:port or unix:path`);
  const host = match[1] ?? match[2] ?? "";
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`cannot bind "${text}": port out of range`);
  if (host === "localhost") return [{ host: "127.0.0.1", port }, { host: "::1", port }];
  if (host === "" || host === "*") return [{ host: "::", port }];
  return [{ host, port }];
}
