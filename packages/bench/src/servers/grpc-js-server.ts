// The Bench service on @grpc/grpc-js, from a hand-written service definition with protobuf-es
// (de)serializers. Prints "PORT <n>" first, then serves until stdin closes; answers "stats" lines on
// stdin (see stats.ts).
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  BIDI_PATH,
  CLIENT_STREAM_PATH,
  STREAM_PATH,
  UNARY_PATH,
  WAIT_PATH,
  deserializePayload,
  deserializeStreamRequest,
  deserializeStreamSummary,
  deserializeWaitRequest,
  payloadOf,
  serializePayload,
  serializeStreamRequest,
  serializeStreamSummary,
  serializeWaitRequest,
} from "../bench-service.js";
import { StreamSummarySchema, type Payload, type StreamRequest, type StreamSummary, type WaitRequest } from "../gen/bench_pb.js";
import { exitWhenStdinCloses } from "../flags.js";
import { HandlerCounter, answerStatsRequests } from "./stats.js";

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
  clientStream: {
    path: CLIENT_STREAM_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: serializePayload,
    requestDeserialize: deserializePayload,
    responseSerialize: serializeStreamSummary,
    responseDeserialize: deserializeStreamSummary,
  },
  bidi: {
    path: BIDI_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializePayload,
    requestDeserialize: deserializePayload,
    responseSerialize: serializePayload,
    responseDeserialize: deserializePayload,
  },
  wait: {
    path: WAIT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serializeWaitRequest,
    requestDeserialize: deserializeWaitRequest,
    responseSerialize: serializePayload,
    responseDeserialize: deserializePayload,
  },
} satisfies grpc.ServiceDefinition;

const handlers = new HandlerCounter();
const EMPTY = payloadOf(0);

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
    const leave = handlers.enter();
    try {
      const { count, size } = call.request;
      const message = payloadOf(size);
      for (let i = 0; i < count; i++) {
        if (call.cancelled) return;
        // Respect backpressure like tsgrpc's server does (it awaits flow control between messages).
        if (!call.write(message)) await writable(call);
      }
      if (!call.cancelled) call.end();
    } finally {
      leave();
    }
  },
  clientStream(call: grpc.ServerReadableStream<Payload, StreamSummary>, callback: grpc.sendUnaryData<StreamSummary>) {
    const leave = handlers.enter();
    let count = 0;
    let bytes = 0;
    call.on("data", (request: Payload) => {
      count++;
      bytes += request.body.byteLength;
    });
    call.on("end", () => {
      leave();
      callback(null, create(StreamSummarySchema, { count, bytes }));
    });
    call.on("cancelled", leave);
    call.on("error", leave);
  },
  bidi(call: grpc.ServerDuplexStream<Payload, Payload>) {
    const leave = handlers.enter();
    call.on("data", (request: Payload) => {
      // Echo with backpressure: stop reading while the response buffer is full.
      if (!call.write(request)) {
        call.pause();
        call.once("drain", () => call.resume());
      }
    });
    call.on("end", () => {
      leave();
      call.end();
    });
    call.on("cancelled", leave);
    call.on("error", leave);
  },
  wait(call: grpc.ServerUnaryCall<WaitRequest, Payload>, callback: grpc.sendUnaryData<Payload>) {
    const leave = handlers.enter();
    const timer = setTimeout(() => {
      call.off("cancelled", cancelled);
      leave();
      callback(null, EMPTY);
    }, call.request.ms);
    const cancelled = (): void => {
      clearTimeout(timer);
      leave();
    };
    call.on("cancelled", cancelled);
  },
};

const server = new grpc.Server();
server.addService(definition, implementation);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
);
process.stdout.write(`PORT ${port}\n`);
answerStatsRequests(handlers);
exitWhenStdinCloses(() => server.forceShutdown());
