// The interop Echo server on tsgrpc, run as a child process by the interop tests:
//   node --conditions=tsgrpc-source --import tsx packages/tsgrpc/test/interop-grpc-js/peers/tsgrpc-echo-server.ts
// Prints "PORT <n>" once listening on 127.0.0.1, exits when its stdin closes. Behaviour: echo-behaviour.ts.
import { Code, createServer, RpcError, type ServerContext, type ServiceImplementation } from "tsgrpc";
import { Echo, type EchoRequest } from "../../gen/echo_pb.js";
import {
  announceAndWatchStdin,
  CALL_ID,
  COMPRESS_RESPONSE,
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

interface CallControl {
  /** The handler is about to end the call normally. */
  done(): void;
  /** Ends the call with the requested status and the fail trailers (throws). */
  fail(code: number, details: string): never;
}

function begin(ctx: ServerContext, method: string): CallControl {
  const entries: Entry[] = [...ctx.metadata];
  const record = book.start(
    ctx.metadata.getString(CALL_ID),
    method,
    ctx.deadline === Infinity ? null : Math.round(ctx.timeRemaining()),
  );
  ctx.signal.addEventListener("abort", () => {
    if (!record || record.outcome) return;
    const reason = ctx.signal.reason as unknown;
    record.outcome = reason instanceof RpcError && reason.code === Code.DEADLINE_EXCEEDED ? "deadline" : "cancelled";
  });
  const compression = ctx.metadata.getString(COMPRESS_RESPONSE);
  if (compression) ctx.setCompression(compression);
  const { initial, trailing } = echoedMetadata(entries);
  if (trailing.length > 0) ctx.setTrailers(trailing);
  if (initial.length > 0) ctx.sendHeaders(initial);
  return {
    done() {
      if (record) record.outcome ??= "completed";
    },
    fail(code, details) {
      if (record) record.outcome ??= "failed";
      ctx.abort(code as Code, details, failTrailers(code));
    },
  };
}

function payloadFor(command: Command, payload: Uint8Array): Uint8Array {
  return command.kind === "echo" && command.zeros !== undefined ? new Uint8Array(command.zeros) : payload;
}

const impl: ServiceImplementation<typeof Echo> = {
  async unary(request: EchoRequest, ctx) {
    const command = parseCommand(request.message);
    if (command.kind === "stats") return { message: book.json() };
    if (command.kind === "metadata") return { message: metadataJson(ctx.metadata) };
    const call = begin(ctx, "Unary");
    if (!(await wait(request.delayMs, ctx.signal))) return {}; // the call is already over
    if (command.kind === "fail") call.fail(command.code, command.details);
    call.done();
    return { message: request.message, index: 0, payload: payloadFor(command, request.payload) };
  },

  async *serverStream(request: EchoRequest, ctx) {
    const command = parseCommand(request.message);
    const call = begin(ctx, "ServerStream");
    const payload = payloadFor(command, request.payload);
    for (let index = 0; index < request.count; index++) {
      if (!(await wait(request.delayMs, ctx.signal))) return;
      yield { message: request.message, index, payload };
    }
    if (command.kind === "fail") call.fail(command.code, command.details);
    call.done();
  },

  async clientStream(requests, ctx) {
    const call = begin(ctx, "ClientStream");
    const messages: string[] = [];
    const payloads: Uint8Array[] = [];
    for await (const request of requests) {
      if (!(await wait(request.delayMs, ctx.signal))) return {};
      const command = parseCommand(request.message);
      if (command.kind === "fail") call.fail(command.code, command.details);
      messages.push(request.message);
      payloads.push(payloadFor(command, request.payload));
    }
    call.done();
    return { message: messages.join(","), index: messages.length, payload: Buffer.concat(payloads) };
  },

  async *bidi(requests, ctx) {
    const call = begin(ctx, "Bidi");
    let index = 0;
    for await (const request of requests) {
      if (!(await wait(request.delayMs, ctx.signal))) return;
      const command = parseCommand(request.message);
      if (command.kind === "fail") call.fail(command.code, command.details);
      yield { message: request.message, index: index++, payload: payloadFor(command, request.payload) };
    }
    call.done();
  },
};

const server = createServer();
server.addService(Echo, impl);
const port = await server.bind("127.0.0.1:0");
announceAndWatchStdin(port, () => server.forceShutdown());
