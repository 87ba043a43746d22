import { Code, isKnownCode } from "../core/code.js";
import { Metadata } from "../core/metadata.js";
import type { Status } from "../core/status.js";
import { encodeGrpcMessage, decodeGrpcMessage } from "./grpc-message.js";
import { encodeTimeout } from "./grpc-timeout.js";
import { appendMetadataHeaders, metadataFromRawHeaders, type OutgoingHeaders } from "./metadata-headers.js";
import { codeFromHttpStatus } from "./status-mapping.js";

/** The request and response heads of gRPC over HTTP/2 (PROTOCOL-HTTP2.md). */
export const GRPC_CONTENT_TYPE = "application/grpc";
export const USER_AGENT = "grpc-node-tsgrpc/0.1.0";

/** Incoming headers as node:http2 presents them. */
export type IncomingHeaders = Record<string, string | string[] | number | undefined>;

export function isGrpcContentType(value: unknown): boolean {
  return typeof value === "string" && value.startsWith(GRPC_CONTENT_TYPE) &&
    (value.length === GRPC_CONTENT_TYPE.length || value[GRPC_CONTENT_TYPE.length] === "+" ||
      value[GRPC_CONTENT_TYPE.length] === ";");
}

export interface RequestHead {
  path: string;
  authority: string;
  scheme: "http" | "https";
  /** Milliseconds until the deadline; omitted when there is none. */
  timeoutMs?: number;
  metadata: Metadata;
  /** `grpc-encoding` of the request messages; omitted for identity. */
  encoding?: string;
  acceptEncoding: string;
  userAgent?: string;
}

export function buildRequestHeaders(head: RequestHead): OutgoingHeaders {
  const headers: OutgoingHeaders = {
    ":method": "POST",
    ":scheme": head.scheme,
    ":path": head.path,
    ":authority": head.authority,
    "content-type": GRPC_CONTENT_TYPE,
    te: "trailers",
    "grpc-accept-encoding": head.acceptEncoding,
    "user-agent": head.userAgent ? `${head.userAgent} ${USER_AGENT}` : USER_AGENT,
  };
  if (head.timeoutMs !== undefined) headers["grpc-timeout"] = encodeTimeout(head.timeoutMs);
  if (head.encoding !== undefined && head.encoding !== "identity") headers["grpc-encoding"] = head.encoding;
  appendMetadataHeaders(headers, head.metadata);
  return headers;
}

/**
 * The common response head (no metadata, identity) and the common OK trailers are shared objects: node
 * copies what it is given before sending, and one fewer object per call is measurable on the unary path.
 * Callers must not modify what these functions return.
 */
let plainResponseHead: { acceptEncoding: string; headers: OutgoingHeaders } | undefined;
const OK_TRAILERS: OutgoingHeaders = Object.freeze({ "grpc-status": "0" }) as OutgoingHeaders;

export function buildResponseHeaders(metadata: Metadata, encoding: string | undefined, acceptEncoding: string): OutgoingHeaders {
  const plain = metadata.size === 0 && (encoding === undefined || encoding === "identity");
  if (plain && plainResponseHead?.acceptEncoding === acceptEncoding) return plainResponseHead.headers;
  const headers: OutgoingHeaders = {
    ":status": 200,
    "content-type": GRPC_CONTENT_TYPE,
    "grpc-accept-encoding": acceptEncoding,
  };
  if (plain) {
    plainResponseHead = { acceptEncoding, headers: Object.freeze(headers) as OutgoingHeaders };
    return plainResponseHead.headers;
  }
  if (encoding !== undefined && encoding !== "identity") headers["grpc-encoding"] = encoding;
  appendMetadataHeaders(headers, metadata);
  return headers;
}

/** The status fields plus trailing metadata, as trailers after the messages. */
export function buildTrailers(status: Status): OutgoingHeaders {
  if (status.code === Code.OK && !status.details && status.metadata.size === 0) return OK_TRAILERS;
  const trailers: OutgoingHeaders = { "grpc-status": String(status.code) };
  if (status.details) trailers["grpc-message"] = encodeGrpcMessage(status.details);
  appendMetadataHeaders(trailers, status.metadata);
  return trailers;
}

/** Trailers-Only: one HEADERS frame with END_STREAM holding the head and the status together. */
export function buildTrailersOnly(status: Status, initialMetadata: Metadata, acceptEncoding: string): OutgoingHeaders {
  // A fresh object: the shared response head must not be modified.
  return { ...buildResponseHeaders(initialMetadata, undefined, acceptEncoding), ...buildTrailers(status) };
}

/**
 * The status a client reads from trailers (or a Trailers-Only head). Without `grpc-status` the HTTP
 * status decides; a `grpc-status` that is not a number is UNKNOWN.
 */
export function statusFromTrailers(trailers: IncomingHeaders, rawTrailers: readonly string[], httpStatus: number): Status {
  const metadata = metadataFromRawHeaders(rawTrailers);
  const rawCode = trailers["grpc-status"];
  if (rawCode === undefined) {
    const code = httpStatus === 200 ? Code.UNKNOWN : codeFromHttpStatus(httpStatus);
    const details = httpStatus === 200
      ? "server closed the stream without a grpc-status"
      : `received HTTP status ${httpStatus} without a grpc-status`;
    return { code, details, metadata };
  }
  const text = String(rawCode).trim();
  if (!/^\d+$/.test(text)) {
    return { code: Code.UNKNOWN, details: `invalid grpc-status "${text}"`, metadata };
  }
  const message = trailers["grpc-message"];
  const details = typeof message === "string" ? decodeGrpcMessage(message) : "";
  const code = Number(text);
  // A number outside 0..16 is no Code at all: report UNKNOWN (as grpc-java and grpc-js do), keeping the message.
  if (!isKnownCode(code)) return { code: Code.UNKNOWN, details: details || `unknown grpc-status ${text}`, metadata };
  return { code, details, metadata };
}
