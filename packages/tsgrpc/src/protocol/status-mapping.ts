import { Code } from "../core/code.js";

/** When a response has no `grpc-status`, its HTTP status decides (http-grpc-status-mapping.md). */
export function codeFromHttpStatus(httpStatus: number): Code {
  switch (httpStatus) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}

/** HTTP/2 error codes (RFC 9113 §7) that gRPC gives a meaning. */
export const Http2ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
} as const;

/** The status a client reports for a stream reset by the peer (PROTOCOL-HTTP2.md "Errors"). */
export function codeFromRstStream(errorCode: number): Code {
  switch (errorCode) {
    case Http2ErrorCode.REFUSED_STREAM:
      return Code.UNAVAILABLE;
    case Http2ErrorCode.CANCEL:
      return Code.CANCELLED;
    case Http2ErrorCode.ENHANCE_YOUR_CALM:
      return Code.RESOURCE_EXHAUSTED;
    case Http2ErrorCode.INADEQUATE_SECURITY:
      return Code.PERMISSION_DENIED;
    default:
      return Code.INTERNAL;
  }
}
