/**
 * `grpc-message` is percent-encoded UTF-8: bytes outside 0x20-0x7E and '%' itself are escaped (and a
 * space at either end, see below). Decoding never fails: a malformed escape is passed through as it is.
 */
export function encodeGrpcMessage(message: string): string {
  // A header value must not start or end with a space (RFC 9113 8.2.1; nghttp2 drops such a field), so a
  // space at either end is escaped too. Decoders already accept any byte as an escape.
  let plain = message.charCodeAt(0) !== 0x20 && message.charCodeAt(message.length - 1) !== 0x20;
  for (let i = 0; plain && i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) plain = false;
  }
  if (plain) return message;
  const bytes = Buffer.from(message, "utf8");
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const edgeSpace = byte === 0x20 && (i === 0 || i === bytes.length - 1);
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 && !edgeSpace ? String.fromCharCode(byte) : `%${hex(byte)}`;
  }
  return out;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

export function decodeGrpcMessage(encoded: string): string {
  if (!encoded.includes("%")) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && i + 2 < encoded.length && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      // Outside the escapes the text should be ASCII; keep any other character as its UTF-8 bytes.
      // Take a whole code point: encoding half a surrogate pair alone would turn an emoji into two U+FFFD.
      const ch = String.fromCodePoint(encoded.codePointAt(i)!);
      for (const b of Buffer.from(ch, "utf8")) bytes.push(b);
      i += ch.length - 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
