import * as zlib from "node:zlib";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

/**
 * Message compression (grpc/grpc doc/compression.md). Compressors are a registry keyed by name; the
 * built-in ones register through the same public call as any user-supplied one.
 */
export interface Compressor {
  /** The `grpc-encoding` token, e.g. "gzip". */
  readonly name: string;
  compress(data: Uint8Array): Uint8Array;
  /** Throws RangeError when the output would exceed `maxLength` (a decompression bomb). */
  decompress(data: Uint8Array, maxLength: number): Uint8Array;
}

/**
 * A message compression name, wherever one is chosen (call, channel and server options,
 * `ctx.setCompression`): the built-in "identity", "gzip" and "deflate", which editors offer, or the
 * name of any compressor added with `registerCompressor`. The `string & {}` keeps every other string
 * allowed without collapsing the type to `string`. Names are checked at run time, as before: an unknown
 * one throws where it is used.
 */
export type CompressionName = "identity" | "gzip" | "deflate" | (string & {});

const compressors = new Map<string, Compressor>();

/** `grpc-accept-encoding` is sent on every call: built once per change of the registry. */
let acceptEncoding: string | undefined;

export function registerCompressor(compressor: Compressor): void {
  compressors.set(compressor.name, compressor);
  acceptEncoding = undefined;
}

export function getCompressor(name: string): Compressor | undefined {
  return compressors.get(name);
}

/** "identity" and every registered name, for `grpc-accept-encoding`. */
export function supportedEncodings(): string[] {
  return ["identity", ...compressors.keys()];
}

export function acceptEncodingHeader(): string {
  return (acceptEncoding ??= supportedEncodings().join(","));
}

/** Parses `grpc-accept-encoding`, tolerant of spaces after commas. */
export function parseAcceptEncoding(value: string | undefined): Set<string> {
  const names = new Set<string>(["identity"]);
  if (value) for (const token of value.split(",")) if (token.trim()) names.add(token.trim());
  return names;
}

/** Decompresses one message, mapping failures to the codes the spec asks for. */
export function decompressMessage(compressor: Compressor, data: Uint8Array, maxLength: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = compressor.decompress(data, maxLength);
  } catch (err) {
    // `err` may be anything a custom compressor throws, even null.
    if (err instanceof RangeError || (err as { code?: string } | null)?.code === "ERR_BUFFER_TOO_LARGE") {
      throw new RpcError(Code.RESOURCE_EXHAUSTED, `decompressed message larger than max (${maxLength})`);
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new RpcError(Code.INTERNAL, `could not decompress ${compressor.name} message: ${reason}`);
  }
  // Checked here too: zlib cannot be given a limit below 1 byte, and a custom compressor may ignore it.
  if (out.length > maxLength) {
    throw new RpcError(Code.RESOURCE_EXHAUSTED, `decompressed message larger than max (${out.length} vs. ${maxLength})`);
  }
  return out;
}

/**
 * zlib's output limit: at least 1, and finite. A max length of Infinity means "no limit", which zlib
 * refuses: cap it at the largest message a 4-byte length prefix can announce.
 */
const outputLimit = (maxLength: number): number => Math.min(Math.max(maxLength, 1), 2 ** 32 - 1);

registerCompressor({
  name: "gzip",
  compress: (data) => zlib.gzipSync(data),
  decompress: (data, maxLength) => zlib.gunzipSync(data, { maxOutputLength: outputLimit(maxLength) }),
});
registerCompressor({
  name: "deflate",
  compress: (data) => zlib.deflateSync(data),
  decompress: (data, maxLength) => zlib.inflateSync(data, { maxOutputLength: outputLimit(maxLength) }),
});
