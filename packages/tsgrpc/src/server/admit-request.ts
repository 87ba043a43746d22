import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { getCompressor } from "../protocol/compression.js";
import { isGrpcContentType } from "../protocol/headers.js";
import { parseTimeout } from "../protocol/grpc-timeout.js";
import type { ServerTransportStream } from "../transport/transport.js";
import type { ServerCallHead } from "./server-call.js";

/** Either a call head to serve, an HTTP-level refusal, or a gRPC status to answer with at once. */
export type Admission =
  | { kind: "call"; head: ServerCallHead }
  | { kind: "http-error"; status: number; message: string }
  | { kind: "status"; error: RpcError };

/** Checks a request head against the protocol before any handler runs (PROTOCOL-HTTP2.md "Requests"). */
export function admitRequest(stream: ServerTransportStream): Admission {
  const headers = stream.headers;
  if (headers[":method"] !== "POST") {
    return { kind: "http-error", status: 405, message: `gRPC requires POST, got ${String(headers[":method"])}` };
  }
  if (!isGrpcContentType(headers["content-type"])) {
    return { kind: "http-error", status: 415, message: `unsupported content-type ${String(headers["content-type"])}` };
  }
  const path = String(headers[":path"] ?? "");
  let deadline = Infinity;
  const timeout = headers["grpc-timeout"];
  if (timeout !== undefined) {
    const ms = parseTimeout(String(timeout));
    if (ms === undefined) return { kind: "status", error: new RpcError(Code.INTERNAL, `malformed grpc-timeout "${String(timeout)}"`) };
    // A zero timeout has expired on arrival: answer at once rather than race the handler against a timer.
    if (ms === 0) return { kind: "status", error: new RpcError(Code.DEADLINE_EXCEEDED, "deadline exceeded") };
    deadline = Date.now() + ms;
  }
  const encoding = headers["grpc-encoding"] === undefined ? undefined : String(headers["grpc-encoding"]);
  if (encoding !== undefined && encoding !== "identity" && !getCompressor(encoding)) {
    return {
      kind: "status",
      error: new RpcError(Code.UNIMPLEMENTED, `request compression "${encoding}" is not supported`),
    };
  }
  const acceptEncoding = headers["grpc-accept-encoding"];
  return {
    kind: "call",
    head: {
      path,
      rawHeaders: stream.rawHeaders,
      deadline,
      requestEncoding: encoding === "identity" ? undefined : encoding,
      acceptEncoding: acceptEncoding === undefined ? undefined : String(acceptEncoding),
    },
  };
}
