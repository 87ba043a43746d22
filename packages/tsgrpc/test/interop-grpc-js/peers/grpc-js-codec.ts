// The Echo service for @grpc/grpc-js, without proto-loader: method paths and protobuf-es (de)serializers
// for grpc-js's low-level API. Used by the grpc-js server peer and by the grpc-js client in the tests.
import type * as grpc from "@grpc/grpc-js";
import { create, fromBinary, isMessage, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { EchoRequestSchema, EchoResponseSchema, type EchoRequest, type EchoResponse } from "../../gen/echo_pb.js";

export const ECHO_PATHS = {
  unary: "/tsgrpc.test.Echo/Unary",
  serverStream: "/tsgrpc.test.Echo/ServerStream",
  clientStream: "/tsgrpc.test.Echo/ClientStream",
  bidi: "/tsgrpc.test.Echo/Bidi",
} as const;

export type EchoRequestInit = MessageInitShape<typeof EchoRequestSchema>;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Takes a message or a plain init object, like tsgrpc's clients do. */
export const serializeRequest = (value: EchoRequest | EchoRequestInit): Buffer =>
  asBuffer(toBinary(EchoRequestSchema, isMessage(value, EchoRequestSchema) ? value : create(EchoRequestSchema, value)));
export const deserializeRequest = (bytes: Buffer): EchoRequest => fromBinary(EchoRequestSchema, bytes);
export const serializeResponse = (value: EchoResponse): Buffer => asBuffer(toBinary(EchoResponseSchema, value));
export const deserializeResponse = (bytes: Buffer): EchoResponse => fromBinary(EchoResponseSchema, bytes);

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<EchoRequest, EchoResponse> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: serializeRequest,
    requestDeserialize: deserializeRequest,
    responseSerialize: serializeResponse,
    responseDeserialize: deserializeResponse,
  };
}

export const echoServiceDefinition: grpc.ServiceDefinition = {
  Unary: method(ECHO_PATHS.unary, false, false),
  ServerStream: method(ECHO_PATHS.serverStream, false, true),
  ClientStream: method(ECHO_PATHS.clientStream, true, false),
  Bidi: method(ECHO_PATHS.bidi, true, true),
};
