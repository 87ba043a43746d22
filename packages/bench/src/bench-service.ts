// What both implementations agree on: method paths and message helpers for the Bench service.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  PayloadSchema,
  StreamRequestSchema,
  StreamSummarySchema,
  WaitRequestSchema,
  type Payload,
  type StreamRequest,
  type StreamSummary,
  type WaitRequest,
} from "./gen/bench_pb.js";

export const UNARY_PATH = "/tsgrpc.bench.Bench/Unary";
export const STREAM_PATH = "/tsgrpc.bench.Bench/Stream";
export const CLIENT_STREAM_PATH = "/tsgrpc.bench.Bench/ClientStream";
export const BIDI_PATH = "/tsgrpc.bench.Bench/Bidi";
export const WAIT_PATH = "/tsgrpc.bench.Bench/Wait";

/** Messages per Stream call made by the load generators. */
export const STREAM_COUNT = 1000;

export function payloadOf(size: number): Payload {
  return create(PayloadSchema, { body: new Uint8Array(size).fill(0x61) });
}

export function streamRequestOf(count: number, size: number): StreamRequest {
  return create(StreamRequestSchema, { count, size });
}

// Serializers for @grpc/grpc-js, which wants Buffers out: wrap protobuf-es bytes without copying.
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const serializePayload = (message: Payload): Buffer => asBuffer(toBinary(PayloadSchema, message));
export const deserializePayload = (bytes: Uint8Array): Payload => fromBinary(PayloadSchema, bytes);
export const serializeStreamRequest = (message: StreamRequest): Buffer => asBuffer(toBinary(StreamRequestSchema, message));
export const deserializeStreamRequest = (bytes: Uint8Array): StreamRequest => fromBinary(StreamRequestSchema, bytes);
export const serializeStreamSummary = (message: StreamSummary): Buffer => asBuffer(toBinary(StreamSummarySchema, message));
export const deserializeStreamSummary = (bytes: Uint8Array): StreamSummary => fromBinary(StreamSummarySchema, bytes);
export const serializeWaitRequest = (message: WaitRequest): Buffer => asBuffer(toBinary(WaitRequestSchema, message));
export const deserializeWaitRequest = (bytes: Uint8Array): WaitRequest => fromBinary(WaitRequestSchema, bytes);

/** A length-prefixed gRPC frame (uncompressed) holding `message`, for h2load's request body. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return frame;
}
