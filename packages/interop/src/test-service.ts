// grpc.testing.TestService as the interop test descriptions (grpc/grpc doc/interop-test-descriptions.md,
// section "Server") ask for it: every server feature the standard test cases use.
//
// Behaviour common to all methods:
// - Echo Metadata: `x-grpc-test-echo-initial` comes back as initial metadata and
//   `x-grpc-test-echo-trailing-bin` as trailing metadata, also when the call ends with an error.
// - Echo Status: a request carrying `response_status` with a non-zero code ends the call with that code
//   and message at once (code 0 only sets the message of the OK status).
// - CompressedRequest: `expect_compressed` set and not matching the request message's compressed flag
//   on the wire fails the call with INVALID_ARGUMENT.
// - CompressedResponse: `response_compressed` / `ResponseParameters.compressed` choose gzip for the
//   response message (flag 1) or send it uncompressed (flag 0).
// - ResponseParameters.interval_us: a pause before each response.
// UnimplementedCall is left out on purpose, so it answers UNIMPLEMENTED like any missing method.
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, Metadata, RpcError, type ServerContext, type ServiceImplementation } from "tsgrpc";
import {
  PayloadType,
  type BoolValue,
  type EchoStatus,
  type PayloadSchema,
  type ResponseParameters,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponseSchema,
} from "./gen/grpc/testing/messages_pb.js";
import type { TestService } from "./gen/grpc/testing/test_pb.js";

export const ECHO_INITIAL_KEY = "x-grpc-test-echo-initial";
export const ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin";

/** Largest payload the server makes on request; more is refused rather than allocated. */
const MAX_PAYLOAD_SIZE = 64 * 1024 * 1024;

type ResponseInit = MessageInitShape<typeof StreamingOutputCallResponseSchema>;

export function createTestService(): ServiceImplementation<typeof TestService> {
  return {
    emptyCall(_request, ctx) {
      new Echo(ctx).flush();
      return {};
    },

    unaryCall(request, ctx) {
      const echo = new Echo(ctx);
      if (request.responseCompressed !== undefined) ctx.setCompression(request.responseCompressed.value ? "gzip" : "identity");
      echo.flush();
      checkRequestCompression(ctx, request.expectCompressed);
      echoStatus(ctx, request.responseStatus);
      return { payload: makePayload(request.responseType, request.responseSize) };
    },

    cacheableUnaryCall(_request, ctx) {
      // Meant to sit behind a caching proxy: the payload differs per call unless a cache answers.
      new Echo(ctx).flush({ "cache-control": "max-age=60, public" });
      const nowNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
      return { payload: { type: PayloadType.COMPRESSABLE, body: new TextEncoder().encode(nowNs.toString()) } };
    },

    async *streamingOutputCall(request, ctx) {
      const echo = new Echo(ctx);
      const compression = new StreamCompression(ctx);
      compression.plan(request.responseParameters);
      echo.flush();
      echoStatus(ctx, request.responseStatus);
      yield* respond(request, ctx, compression);
    },

    async streamingInputCall(requests, ctx) {
      new Echo(ctx).flush();
      let total = 0;
      for await (const request of requests) {
        checkRequestCompression(ctx, request.expectCompressed);
        total += request.payload?.body.length ?? 0;
      }
      return { aggregatedPayloadSize: total };
    },

    async *fullDuplexCall(requests, ctx) {
      const echo = new Echo(ctx);
      const compression = new StreamCompression(ctx);
      try {
        for await (const request of requests) {
          echoStatus(ctx, request.responseStatus);
          compression.plan(request.responseParameters);
          echo.flush();
          yield* respond(request, ctx, compression);
        }
      } finally {
        echo.flush(); // also when the call ends with an error before any response
      }
    },

    async *halfDuplexCall(requests, ctx) {
      const echo = new Echo(ctx);
      const compression = new StreamCompression(ctx);
      const received: StreamingOutputCallRequest[] = [];
      try {
        for await (const request of requests) received.push(request);
        compression.plan(received.flatMap((r) => r.responseParameters));
        echo.flush();
        for (const request of received) {
          echoStatus(ctx, request.responseStatus);
          yield* respond(request, ctx, compression);
        }
      } finally {
        echo.flush();
      }
    },
  };
}

/** The responses one StreamingOutputCallRequest asks for, one per ResponseParameters. */
async function* respond(
  request: StreamingOutputCallRequest,
  ctx: ServerContext,
  compression: StreamCompression,
): AsyncGenerator<ResponseInit> {
  for (const params of request.responseParameters) {
    if (params.intervalUs > 0) await sleep(params.intervalUs / 1000, undefined, { signal: ctx.signal });
    const payload = makePayload(request.responseType, params.size);
    compression.beforeSend(params);
    yield { payload };
  }
}

/**
 * Echo Metadata. The trailing value is set on the context at once (trailers set there go out with any
 * status, errors included); the initial value waits for `flush`, which handlers call once they have
 * chosen the response compression (the head fixes it).
 */
class Echo {
  sent = false;
  private readonly initial: Metadata | undefined;

  constructor(private readonly ctx: ServerContext) {
    const initial = ctx.metadata.getAll(ECHO_INITIAL_KEY);
    if (initial.length > 0) this.initial = new Metadata(initial.map((v) => [ECHO_INITIAL_KEY, v] as const));
    const trailing = ctx.metadata.getAll(ECHO_TRAILING_KEY);
    if (trailing.length > 0) ctx.setTrailers(trailing.map((v) => [ECHO_TRAILING_KEY, v] as const));
  }

  /** Sends the response head now if there is initial metadata to echo (plus `extra`); once. */
  flush(extra?: Record<string, string>): void {
    if (this.sent) return;
    this.sent = true;
    if (this.initial === undefined && extra === undefined) return;
    const metadata = new Metadata(extra);
    if (this.initial) metadata.merge(this.initial);
    if (this.ctx.isActive) this.ctx.sendHeaders(metadata);
  }
}

/**
 * Per-message response compression for the streaming methods: when any ResponseParameters of the call
 * says `compressed`, the call uses gzip and each message whose parameters do not ask for compression is
 * sent with the compressed flag off. Without `compressed` anywhere, responses are not compressed.
 */
class StreamCompression {
  private enabled = false;
  private planned = false;

  constructor(private readonly ctx: ServerContext) {}

  /** Decides for the call; only the first decision counts (the response head fixes the encoding). */
  plan(params: readonly ResponseParameters[]): void {
    if (this.planned) return;
    this.planned = true;
    if (params.some((p) => p.compressed !== undefined)) {
      this.ctx.setCompression("gzip");
      this.enabled = true;
    }
  }

  beforeSend(params: ResponseParameters): void {
    this.planned = true;
    if (this.enabled && params.compressed?.value !== true) this.ctx.disableNextMessageCompression();
  }
}

/** CompressedRequest: the request's compressed flag on the wire must match `expect_compressed`. */
function checkRequestCompression(ctx: ServerContext, expected: BoolValue | undefined): void {
  if (expected === undefined) return;
  if (expected.value && !ctx.requestCompressed) {
    ctx.abort(Code.INVALID_ARGUMENT, "expected a compressed request message, got an uncompressed one");
  }
  if (!expected.value && ctx.requestCompressed) {
    ctx.abort(Code.INVALID_ARGUMENT, "expected an uncompressed request message, got a compressed one");
  }
}

/** Echo Status. */
function echoStatus(ctx: ServerContext, status: EchoStatus | undefined): void {
  if (status === undefined) return;
  if (status.code === Code.OK) {
    if (status.message !== "") ctx.setStatus(Code.OK, status.message);
    return;
  }
  ctx.abort(status.code as Code, status.message);
}

function makePayload(type: PayloadType, size: number): MessageInitShape<typeof PayloadSchema> {
  if (type !== PayloadType.COMPRESSABLE) throw new RpcError(Code.INVALID_ARGUMENT, `unsupported response_type ${type}`);
  if (size < 0 || size > MAX_PAYLOAD_SIZE) {
    throw new RpcError(Code.INVALID_ARGUMENT, `response size ${size} is out of range 0..${MAX_PAYLOAD_SIZE}`);
  }
  return { type: PayloadType.COMPRESSABLE, body: new Uint8Array(size) };
}
