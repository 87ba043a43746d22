// The interop Echo server on @grpc/grpc-js, run as a child process by the interop tests:
//   node --conditions=tsgrpc-source --import tsx packages/tsgrpc/test/interop-grpc-js/peers/grpc-js-echo-server.ts
// Prints "PORT <n>" once listening on 127.0.0.1, exits when its stdin closes. Behaviour: echo-behaviour.ts.
// grpc-js servers never compress responses (grpc-js 1.14: "response compression is currently not
// supported"), so x-compress-response is ignored here.
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { EchoResponseSchema, type EchoRequest, type EchoResponse } from "../../gen/echo_pb.js";
import { echoServiceDefinition } from "./grpc-js-codec.js";
import {
  announceAndWatchStdin,
  CALL_ID,
  echoedMetadata,
  failTrailers,
  metadataJson,
  parseCommand,
  StatsBook,
  wait,
  type Command,
  type Entry,
} from "./echo-behaviour.js";

const book = new StatsBook();

type AnyCall = grpc.ServerUnaryCall<EchoRequest, EchoResponse> | grpc.ServerWritableStream<EchoRequest, EchoResponse>
  | grpc.ServerReadableStream<EchoRequest, EchoResponse> | grpc.ServerDuplexStream<EchoRequest, EchoResponse>;

function entriesOf(metadata: grpc.Metadata): Entry[] {
  const entries: Entry[] = [];
  for (const [key, values] of Object.entries(metadata.toJSON())) for (const value of values) entries.push([key, value]);
  return entries;
}

function toMetadata(entries: Iterable<Entry>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of entries) metadata.add(key, typeof value === "string" ? value : Buffer.from(value));
  return metadata;
}

interface CallControl {
  /** Aborts when the call is cancelled or its deadline passes (grpc-js's "cancelled" event). */
  signal: AbortSignal;
  /** Trailing metadata for a normal end. */
  trailers: grpc.Metadata;
  /** The handler is about to end the call normally. */
  done(): void;
  /** The status to end with for a "fail:" command, trailers included. */
  failure(code: number, details: string): Partial<grpc.StatusObject>;
}

function begin(call: AnyCall, method: string): CallControl {
  const entries = entriesOf(call.metadata);
  const rawDeadline = call.getDeadline();
  const deadline = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  const record = book.start(
    call.metadata.get(CALL_ID)[0]?.toString(),
    method,
    Number.isFinite(deadline) ? Math.max(0, deadline - Date.now()) : null,
  );
  const controller = new AbortController();
  let ended = false;
  // grpc-js emits "cancelled" when the stream closes, even after a normal end: only a call the handler
  // had not ended yet was really cut short.
  (call as NodeJS.EventEmitter).on("cancelled", () => {
    if (ended) return;
    ended = true;
    if (record) record.outcome ??= Date.now() >= deadline - 5 ? "deadline" : "cancelled";
    controller.abort();
  });
  const { initial, trailing } = echoedMetadata(entries);
  if (initial.length > 0) call.sendMetadata(toMetadata(initial));
  return {
    signal: controller.signal,
    trailers: toMetadata(trailing),
    done() {
      ended = true;
      if (record) record.outcome ??= "completed";
    },
    failure(code, details) {
      ended = true;
      if (record) record.outcome ??= "failed";
      return { code, details, metadata: toMetadata([...trailing, ...failTrailers(code)]) };
    },
  };
}

function response(init: MessageInitShape<typeof EchoResponseSchema>): EchoResponse {
  return create(EchoResponseSchema, init);
}

function payloadFor(command: Command, payload: Uint8Array): Uint8Array {
  return command.kind === "echo" && command.zeros !== undefined ? new Uint8Array(command.zeros) : payload;
}

/** Writes with backpressure; false when the call ended before the write could complete. */
async function send(stream: grpc.ServerWritableStream<EchoRequest, EchoResponse> | grpc.ServerDuplexStream<EchoRequest, EchoResponse>, message: EchoResponse, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (stream.write(message)) return true;
  try {
    await once(stream, "drain", { signal });
    return true;
  } catch {
    return false;
  }
}

const impl: grpc.UntypedServiceImplementation = {
  Unary: (async (call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>, callback: grpc.sendUnaryData<EchoResponse>) => {
    const request = call.request;
    const command = parseCommand(request.message);
    if (command.kind === "stats") return callback(null, response({ message: book.json() }));
    if (command.kind === "metadata") return callback(null, response({ message: metadataJson(entriesOf(call.metadata)) }));
    const control = begin(call, "Unary");
    if (!(await wait(request.delayMs, control.signal))) return;
    if (command.kind === "fail") return callback(control.failure(command.code, command.details));
    control.done();
    callback(null, response({ message: request.message, index: 0, payload: payloadFor(command, request.payload) }), control.trailers);
  }) as grpc.handleUnaryCall<EchoRequest, EchoResponse>,

  ServerStream: (async (call: grpc.ServerWritableStream<EchoRequest, EchoResponse>) => {
    const request = call.request;
    const command = parseCommand(request.message);
    const control = begin(call, "ServerStream");
    const payload = payloadFor(command, request.payload);
    for (let index = 0; index < request.count; index++) {
      if (!(await wait(request.delayMs, control.signal))) return;
      if (!(await send(call, response({ message: request.message, index, payload }), control.signal))) return;
    }
    if (command.kind === "fail") {
      call.emit("error", control.failure(command.code, command.details));
      return;
    }
    control.done();
    call.end(control.trailers);
  }) as grpc.handleServerStreamingCall<EchoRequest, EchoResponse>,

  ClientStream: (async (call: grpc.ServerReadableStream<EchoRequest, EchoResponse>, callback: grpc.sendUnaryData<EchoResponse>) => {
    const control = begin(call, "ClientStream");
    const messages: string[] = [];
    const payloads: Uint8Array[] = [];
    try {
      for await (const request of call.iterator({ destroyOnReturn: false }) as AsyncIterable<EchoRequest>) {
        if (!(await wait(request.delayMs, control.signal))) return;
        const command = parseCommand(request.message);
        if (command.kind === "fail") return callback(control.failure(command.code, command.details));
        messages.push(request.message);
        payloads.push(payloadFor(command, request.payload));
      }
    } catch {
      return; // the stream was destroyed: cancelled
    }
    if (control.signal.aborted) return;
    control.done();
    callback(null, response({ message: messages.join(","), index: messages.length, payload: Buffer.concat(payloads) }), control.trailers);
  }) as grpc.handleClientStreamingCall<EchoRequest, EchoResponse>,

  Bidi: (async (call: grpc.ServerDuplexStream<EchoRequest, EchoResponse>) => {
    const control = begin(call, "Bidi");
    let index = 0;
    let failure: Partial<grpc.StatusObject> | undefined;
    try {
      // destroyOnReturn: false, or leaving the loop would destroy the response side too.
      for await (const request of call.iterator({ destroyOnReturn: false }) as AsyncIterable<EchoRequest>) {
        if (!(await wait(request.delayMs, control.signal))) return;
        const command = parseCommand(request.message);
        if (command.kind === "fail") {
          failure = control.failure(command.code, command.details);
          break;
        }
        const message = response({ message: request.message, index: index++, payload: payloadFor(command, request.payload) });
        if (!(await send(call, message, control.signal))) return;
      }
    } catch {
      return;
    }
    if (control.signal.aborted) return;
    // Only once the loop has let go of the stream: the iterator also listens for "error", and seeing
    // one it would destroy the stream before grpc-js could send the status.
    if (failure) {
      call.emit("error", failure);
      return;
    }
    control.done();
    call.end(control.trailers);
  }) as grpc.handleBidiStreamingCall<EchoRequest, EchoResponse>,
};

const server = new grpc.Server();
server.addService(echoServiceDefinition, impl);
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
});
announceAndWatchStdin(port, () => server.forceShutdown());
