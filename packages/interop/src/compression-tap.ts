// Sees, per message, whether the compressed flag was set on the wire, through tsgrpc's public API only.
//
// tsgrpc runs a message through the call's compressor exactly when that message's compressed flag is 1:
// the framing code compresses a message it sends with flag 1 and sends flag-0 messages as they are, and
// decompresses only received messages with flag 1. So a "gzip" compressor that remembers the buffers it
// handled, together with (de)serializers that remember which buffer became which message, tells for
// each request and response object how it travelled.
import * as zlib from "node:zlib";
import type { DescService } from "@bufbuild/protobuf";
import { protobufService, registerCompressor, type ServiceDefinition } from "tsgrpc";

export class CompressionTap {
  /** Request bytes that went through compress() (were sent with flag 1). */
  private readonly compressedOut = new WeakSet<Uint8Array>();
  /** Response bytes that came out of decompress() (arrived with flag 1). */
  private readonly decompressedIn = new WeakSet<Uint8Array>();
  /** Request object (as passed to the client) → its serialized bytes. */
  private readonly requestBytes = new WeakMap<object, Uint8Array>();
  /** Response messages whose bytes arrived compressed. */
  private readonly compressedResponses = new WeakSet<object>();

  /** Replaces the process's "gzip" compressor with an identical one that reports to this tap. */
  install(): this {
    registerCompressor({
      name: "gzip",
      compress: (data) => {
        this.compressedOut.add(data);
        return zlib.gzipSync(data);
      },
      decompress: (data, maxLength) => {
        const out = zlib.gunzipSync(data, { maxOutputLength: Math.max(maxLength, 1) });
        this.decompressedIn.add(out);
        return out;
      },
    });
    return this;
  }

  /** `service` with (de)serializers that record which bytes belong to which request/response object. */
  wrap(service: DescService): ServiceDefinition {
    const plain = protobufService(service);
    const methods: ServiceDefinition["methods"] = Object.fromEntries(
      Object.entries(plain.methods).map(([name, method]) => [
        name,
        {
          ...method,
          serializeRequest: (request: unknown) => {
            const bytes = method.serializeRequest(request);
            if (typeof request === "object" && request !== null) this.requestBytes.set(request, bytes);
            return bytes;
          },
          deserializeResponse: (bytes: Uint8Array) => {
            const response = method.deserializeResponse(bytes);
            if (this.decompressedIn.has(bytes) && typeof response === "object" && response !== null) {
              this.compressedResponses.add(response);
            }
            return response;
          },
        },
      ]),
    );
    return { typeName: plain.typeName, methods };
  }

  /** Whether `request` (the very object given to the client) went out with the compressed flag set. */
  sentCompressed(request: object): boolean {
    const bytes = this.requestBytes.get(request);
    return bytes !== undefined && this.compressedOut.has(bytes);
  }

  /** Whether `response` (as the client returned it) arrived with the compressed flag set. */
  receivedCompressed(response: object): boolean {
    return this.compressedResponses.has(response);
  }
}
