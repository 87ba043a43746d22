import type * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { PeerCertificate, TransportSecurity } from "../transport.js";

/**
 * Who is on the other end of a server connection, worked out once per HTTP/2 session from its socket and
 * handed upward as plain data (the server builds the gRPC auth context from it).
 */

const INSECURE: TransportSecurity = Object.freeze({ type: "insecure" });
const LOCAL: TransportSecurity = Object.freeze({ type: "local" });

/**
 * The security of `session` (the listener asks once per session); `local` says the listener only takes
 * local peers (local credentials).
 */
export function sessionSecurity(session: http2.Http2Session | undefined, local: boolean): TransportSecurity {
  if (!session) return local ? LOCAL : INSECURE;
  return describe(session.socket, local);
}

function describe(socket: net.Socket | tls.TLSSocket, local: boolean): TransportSecurity {
  if (!(socket as tls.TLSSocket).encrypted) return local ? LOCAL : INSECURE;
  const tlsSocket = socket as tls.TLSSocket;
  const version = tlsSocket.getProtocol();
  const reused = tlsSocket.isSessionReused();
  // Only a certificate that verified against the trusted roots says who the peer is; one a server merely
  // requested (rootCerts without requireClientAuth) and that failed verification is ignored.
  const x509 = tlsSocket.authorized ? tlsSocket.getPeerX509Certificate() : undefined;
  return {
    type: "tls",
    ...(version ? { tlsVersion: version } : {}),
    sessionReused: reused,
    ...(x509 ? { peerCertificate: peerCertificateOf(x509) } : {}),
  };
}

function peerCertificateOf(x509: NonNullable<ReturnType<tls.TLSSocket["getPeerX509Certificate"]>>): PeerCertificate {
  // node prints the subject one attribute per line, most significant first; RFC 2253 is the reverse, comma-joined.
  const attributes = x509.subject.split("\n").filter((line) => line.length > 0);
  const commonNames = attributes.filter((a) => a.startsWith("CN=")).map((a) => a.slice(3));
  return {
    subject: [...attributes].reverse().join(","),
    commonNames,
    subjectAltNames: parseSubjectAltNames(x509.subjectAltName ?? ""),
    pem: x509.toString(),
  };
}

type AltName = PeerCertificate["subjectAltNames"][number];

/**
 * Splits node's subjectAltName text, e.g. `DNS:localhost, IP Address:127.0.0.1, URI:spiffe://a/b`. Node
 * quotes a value as a JSON string when it holds characters that would make this ambiguous (`DNS:"a, b"`).
 */
export function parseSubjectAltNames(text: string): AltName[] {
  const names: AltName[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const label = text.slice(i, colon).trim();
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote, skipping escaped characters.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
      end = text.indexOf(", ", j + 1);
    } else {
      end = text.indexOf(", ", colon + 1);
      value = text.slice(colon + 1, end < 0 ? text.length : end);
    }
    names.push({ type: altNameType(label), value: label === "IP Address" ? normalizeIp(value) : value });
    if (end < 0) break;
    i = end + 2;
  }
  return names;
}

function altNameType(label: string): AltName["type"] {
  switch (label) {
    case "DNS":
      return "DNS";
    case "IP Address":
      return "IP";
    case "URI":
      return "URI";
    case "email":
      return "email";
    default:
      return "other";
  }
}

/** IPv6 the short way ("::1"), as gRPC's own stacks print it. */
function normalizeIp(value: string): string {
  if (net.isIPv6(value)) {
    try {
      return new URL(`http://[${value}]/`).hostname.slice(1, -1);
    } catch {
      return value;
    }
  }
  return value;
}

/** Whether a socket's peer is this machine: any unix socket, or TCP from a loopback address. */
export function isLocalPeer(socket: net.Socket, unixSocket: boolean): boolean {
  if (unixSocket) return true;
  const address = socket.remoteAddress;
  return address !== undefined && isLoopbackAddress(address);
}

export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (net.isIPv4(v4)) return v4.startsWith("127.");
  return address === "::1" || address === "0:0:0:0:0:0:0:1";
}
