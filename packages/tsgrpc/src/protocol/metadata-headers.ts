import { Metadata, isBinaryKey } from "../core/metadata.js";

/** Outgoing HTTP/2 headers as node:http2 takes them (the transport passes them through untouched). */
export type OutgoingHeaders = Record<string, string | string[] | number>;

/**
 * Header names that are never custom metadata: the ones gRPC itself owns and the connection-specific
 * ones HTTP/2 forbids. `grpc-status-details-bin` is the one `grpc-` key applications may carry.
 */
const NOT_METADATA = new Set([
  "content-type",
  "te",
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "date",
]);

export function isMetadataHeader(name: string): boolean {
  if (name.charCodeAt(0) === 0x3a /* ':' */) return false;
  if (name.startsWith("grpc-")) return name === "grpc-status-details-bin";
  return !NOT_METADATA.has(name);
}

/** Adds metadata to `headers`: binary values base64 without padding, repeated keys as arrays. */
export function appendMetadataHeaders(headers: OutgoingHeaders, metadata: Metadata): void {
  for (const key of metadata.keys()) {
    if (!isMetadataHeader(key)) continue;
    const values = metadata.getAll(key);
    const encoded = isBinaryKey(key)
      ? values.map((v) => Buffer.from(v as Uint8Array).toString("base64").replace(/=+$/, ""))
      : (values as string[]);
    headers[key] = encoded.length === 1 ? encoded[0]! : encoded;
  }
}

/**
 * Metadata from node:http2's raw header list [name, value, name, value, ...], which keeps repeated keys
 * apart. Binary values accept padded and unpadded base64, and several values joined by ','.
 */
export function metadataFromRawHeaders(raw: readonly string[]): Metadata {
  const metadata = new Metadata();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!isMetadataHeader(name)) continue;
    const value = raw[i + 1]!;
    if (isBinaryKey(name)) {
      for (const part of value.split(",")) metadata.addTrusted(name, Buffer.from(part.trim(), "base64"));
    } else {
      metadata.addTrusted(name, value);
    }
  }
  return metadata;
}
