// Interop test server on @grpc/grpc-js, a peer for tsgrpc's interop matrix. It implements
// grpc.testing.TestService as doc/interop-test-descriptions.md asks of a server.
//
//   node packages/interop/dist/peers/grpc-js-server.js --port=N
//        [--use_tls=true --tls_cert_file=F --tls_key_file=F] [--exit_on_stdin_close=true]
//
// Prints "interop server listening on port N" once bound (with --port=0 the port the system chose).
//
// Limitations (see limitations.json): grpc-js decompresses requests before the handler sees them and hides
// their compressed flag and grpc-encoding, so expect_compressed cannot be checked (such requests are
// accepted); and grpc-js never compresses responses, so response_compressed / compressed are ignored.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import {
  ECHO_INITIAL_KEY,
  ECHO_TRAILING_KEY,
  type EchoStatus,
  isTrue,
  loadTestProtos,
  parseFlags,
  type SimpleRequest,
  type SimpleResponse,
  type StreamingInputCallRequest,
  type StreamingInputCallResponse,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
} from "./grpc-js-common.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The echo metadata a call asks for: initial to send at once, trailing for the end (also on failure). */
function echoMetadata(call: { metadata: grpc.Metadata }): { initial: grpc.Metadata | null; trailing: grpc.Metadata } {
  const initialValues = call.metadata.get(ECHO_INITIAL_KEY);
  const trailingValues = call.metadata.get(ECHO_TRAILING_KEY);
  let initial: grpc.Metadata | null = null;
  if (initialValues.length > 0) {
    initial = new grpc.Metadata();
    for (const value of initialValues) initial.add(ECHO_INITIAL_KEY, value);
  }
  const trailing = new grpc.Metadata();
  for (const value of trailingValues) trailing.add(ECHO_TRAILING_KEY, value);
  return { initial, trailing };
}

class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

function serviceError(error: unknown, trailing: grpc.Metadata): Partial<grpc.StatusObject> & Error {
  if (error instanceof CallError) {
    return Object.assign(new Error(error.details), { code: error.code, details: error.details, metadata: trailing });
  }
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(message), { code: grpc.status.INTERNAL, details: message, metadata: trailing });
}

function checkEchoStatus(status: EchoStatus | null | undefined): void {
  if (status && (status.code ?? 0) !== 0) throw new CallError(status.code as grpc.status, status.message ?? "");
}

function checkResponseType(type: string | undefined): void {
  if (type !== undefined && type !== "COMPRESSABLE") throw new CallError(grpc.status.INVALID_ARGUMENT, `unsupported response_type ${type}`);
}

function payload(size: number | undefined) {
  if (size === undefined || size < 0) throw new CallError(grpc.status.INVALID_ARGUMENT, `bad payload size ${size}`);
  return { type: "COMPRESSABLE", body: Buffer.alloc(size) };
}

/** Answers one StreamingOutputCallRequest: echo status first, then a response per parameter. */
async function respond(
  request: StreamingOutputCallRequest,
  call: grpc.ServerWritableStream<unknown, StreamingOutputCallResponse> | grpc.ServerDuplexStream<unknown, StreamingOutputCallResponse>,
): Promise<void> {
  checkEchoStatus(request.response_status);
  checkResponseType(request.response_type);
  for (const params of request.response_parameters ?? []) {
    if ((params.interval_us ?? 0) > 0) await sleep((params.interval_us ?? 0) / 1000);
    if (call.cancelled) return;
    // params.compressed is ignored: grpc-js cannot compress responses (limitations.json).
    const response: StreamingOutputCallResponse = { payload: payload(params.size ?? 0) };
    await new Promise<void>((resolve) => {
      if (!call.write(response)) call.once("drain", resolve);
      else resolve();
    });
  }
}

const handlers: grpc.UntypedServiceImplementation = {
  EmptyCall(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    callback(null, {}, trailing);
  },

  UnaryCall(call: grpc.ServerUnaryCall<SimpleRequest, SimpleResponse>, callback: grpc.sendUnaryData<SimpleResponse>) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    try {
      const request = call.request;
      // expect_compressed cannot be checked (grpc-js hides request compression): accepted.
      // response_compressed is ignored: grpc-js cannot compress responses.
      checkEchoStatus(request.response_status);
      checkResponseType(request.response_type);
      callback(null, { payload: payload(request.response_size ?? 0) }, trailing);
    } catch (error) {
      callback(serviceError(error, trailing));
    }
  },

  CacheableUnaryCall(call: grpc.ServerUnaryCall<SimpleRequest, SimpleResponse>, callback: grpc.sendUnaryData<SimpleResponse>) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    callback(null, { payload: { type: "COMPRESSABLE", body: Buffer.from(String(process.hrtime.bigint())) } }, trailing);
  },

  StreamingInputCall(
    call: grpc.ServerReadableStream<StreamingInputCallRequest, StreamingInputCallResponse>,
    callback: grpc.sendUnaryData<StreamingInputCallResponse>,
  ) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    let total = 0;
    call.on("data", (request: StreamingInputCallRequest) => {
      total += request.payload?.body?.length ?? 0;
    });
    call.on("error", () => {});
    call.on("end", () => {
      if (!call.cancelled) callback(null, { aggregated_payload_size: total }, trailing);
    });
  },

  StreamingOutputCall(call: grpc.ServerWritableStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    call.on("error", () => {});
    respond(call.request, call).then(
      () => {
        if (!call.cancelled) call.end(trailing);
      },
      (error) => {
        if (!call.cancelled) call.emit("error", serviceError(error, trailing));
      },
    );
  },

  FullDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    // Requests are answered strictly in order, each after the previous one's responses (interval_us sleeps).
    let chain = Promise.resolve();
    let failed = false;
    call.on("error", () => {});
    call.on("data", (request: StreamingOutputCallRequest) => {
      chain = chain.then(async () => {
        if (failed || call.cancelled) return;
        try {
          await respond(request, call);
        } catch (error) {
          failed = true; // the server processes no further messages once it has failed the call
          if (!call.cancelled) call.emit("error", serviceError(error, trailing));
        }
      });
    });
    call.on("end", () => {
      chain = chain.then(() => {
        if (!failed && !call.cancelled) call.end(trailing);
      });
    });
  },

  HalfDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>) {
    const { initial, trailing } = echoMetadata(call);
    if (initial) call.sendMetadata(initial);
    const requests: StreamingOutputCallRequest[] = [];
    call.on("error", () => {});
    call.on("data", (request: StreamingOutputCallRequest) => requests.push(request));
    call.on("end", async () => {
      try {
        for (const request of requests) await respond(request, call);
        if (!call.cancelled) call.end(trailing);
      } catch (error) {
        if (!call.cancelled) call.emit("error", serviceError(error, trailing));
      }
    });
  },

  // UnimplementedCall is deliberately left out: grpc-js answers it with UNIMPLEMENTED.
};

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const port = Number(flags.get("port") ?? "0");
  const { TestService } = loadTestProtos();
  const server = new grpc.Server();
  server.addService(TestService.service, handlers);

  let credentials: grpc.ServerCredentials;
  if (isTrue(flags.get("use_tls"))) {
    const certFile = flags.get("tls_cert_file");
    const keyFile = flags.get("tls_key_file");
    if (!certFile || !keyFile) throw new Error("--use_tls=true needs --tls_cert_file and --tls_key_file");
    credentials = grpc.ServerCredentials.createSsl(null, [
      { cert_chain: readFileSync(certFile), private_key: readFileSync(keyFile) },
    ]);
  } else {
    credentials = grpc.ServerCredentials.createInsecure();
  }
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, credentials, (error, actual) => (error ? reject(error) : resolve(actual))),
  );
  console.log(`interop server listening on port ${bound}`);

  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  if (isTrue(flags.get("exit_on_stdin_close"))) {
    process.stdin.on("data", () => {});
    process.stdin.on("end", stop);
    process.stdin.on("close", stop);
    process.stdin.on("error", stop);
  }
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
