export { encodeEnvelope, EnvelopeDecoder, ENVELOPE_HEADER_LENGTH } from "./envelope.js";
export { encodeTimeout, parseTimeout } from "./grpc-timeout.js";
export { encodeGrpcMessage, decodeGrpcMessage } from "./grpc-message.js";
export {
  appendMetadataHeaders,
  metadataFromRawHeaders,
  isMetadataHeader,
  type OutgoingHeaders,
} from "./metadata-headers.js";
export { codeFromHttpStatus, codeFromRstStream, Http2ErrorCode } from "./status-mapping.js";
export {
  type Compressor,
  type CompressionName,
  registerCompressor,
  getCompressor,
  supportedEncodings,
  acceptEncodingHeader,
  parseAcceptEncoding,
  decompressMessage,
} from "./compression.js";
export * from "./headers.js";
export { MessageReader } from "./message-reader.js";
export { MessageWriter } from "./message-writer.js";
