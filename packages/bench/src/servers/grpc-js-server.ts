// The Bench service on @grpc/grpc-js, from a hand-written service definition with protobuf-es
// (de)serializers. Prints "PORT <n>" first, then serves until stdin closes.
import * as grpc from "@grpc/grpc-js";
import {
  STREAM_PATH,
  UNARY_PATH,
  deserializePayload,
  deserializeStreamRequest,
  payloadOf,
  serializePayload,
  serializeStreamRequest,
} from "../bench-service.js";
import type { Payload, StreamRequest } from "../gen/bench_pb.js";
import { exitWhenStdinCloses } from "../flags.js";

const definition = {
  unary: {
    path: UNARY_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serializePayload,
    requestDeserialize: deserializePayload,
    responseSerialize: serializePayload,
    responseDeserialize: deserializePayload,
  },
  stream: {
    path: STREAM_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: serializeStreamRequest,
    requestDeserialize: deserializeStreamRequest,
    responseSerialize: serializePayload,
    responseDeserialize: deserializePayload,
  },
} satisfies grpc.ServiceDefinition;

/** Resolves when the call's buffer drains, or when the call is cancelled (and will never drain). */
function writable(call: grpc.ServerWritableStream<StreamRequest, Payload>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve();
    };
    call.on("drain", done);
    call.on("cancelled", done);
  });
}

const implementation: grpc.UntypedServiceImplementation = {
  unary(call: grpc.ServerUnaryCall<Payload, Payload>, callback: grpc.sendUnaryData<Payload>) {
    callback(null, call.request);
  },
  async stream(call: grpc.ServerWritableStream<StreamRequest, Payload>) {
    const { count, size } = call.request;
    const message = payloadOf(size);
    for (let i = 0; i < count; i++) {
      if (call.cancelled) return;
      // Respect backpressure like tsgrpc's server does (it awaits flow control between messages).
      if (!call.write(message)) await writable(call);
    }
    if (!call.cancelled) call.end();
  },
};

const server = new grpc.Server();
server.addService(definition, implementation);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
);
process.stdout.write(`PORT ${port}\n`);
exitWhenStdinCloses(() => server.forceShutdown());
