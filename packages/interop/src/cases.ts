// The interop test cases of the client, each as grpc/grpc doc/interop-test-descriptions.md describes it.
// A case throws (CaseFailure or the call's RpcError) to fail; returning means it passed.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, codeName, createPushable, RpcError, sendUncompressed, type CallOptions, type Channel, type Client, type Metadata } from "tsgrpc";
import type { CompressionTap } from "./compression-tap.js";
import {
  PayloadType,
  type Payload,
  type SimpleRequestSchema,
  type StreamingInputCallRequestSchema,
  type StreamingOutputCallRequestSchema,
  type StreamingOutputCallResponse,
} from "./gen/grpc/testing/messages_pb.js";
import type { TestService, UnimplementedService } from "./gen/grpc/testing/test_pb.js";
import { ECHO_INITIAL_KEY, ECHO_TRAILING_KEY } from "./test-service.js";

export interface CaseContext {
  readonly client: Client<typeof TestService>;
  readonly unimplementedClient: Client<typeof UnimplementedService>;
  readonly channel: Channel;
  readonly tap: CompressionTap;
  /** Every call of the case ends by then at the latest (ms since the epoch). */
  readonly deadline: number;
  /** Reports an observation about the server that does not decide the case ("NOTE case: text"). */
  note(text: string): void;
}

export class CaseFailure extends Error {}

type TestCase = (c: CaseContext) => Promise<void>;
type SimpleRequestInit = MessageInitShape<typeof SimpleRequestSchema>;
type StreamingInputInit = MessageInitShape<typeof StreamingInputCallRequestSchema>;
type StreamingOutputInit = MessageInitShape<typeof StreamingOutputCallRequestSchema>;

const CLIENT_STREAMING_SIZES = [27182, 8, 1828, 45904];
const SERVER_STREAMING_SIZES = [31415, 9, 2653, 58979];
const ECHO_INITIAL_VALUE = "test_initial_metadata_value";
const ECHO_TRAILING_VALUE = new Uint8Array([0xab, 0xab, 0xab]);
const SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n";

// ---- the cases ---------------------------------------------------------------------------------------

const emptyUnary: TestCase = async (c) => {
  const response = await c.client.emptyCall({}, options(c));
  check(response != null && response.$typeName === "grpc.testing.Empty", "the response is not a grpc.testing.Empty");
};

const largeUnary: TestCase = async (c) => {
  const response = await c.client.unaryCall(largeRequest(), options(c));
  checkPayload(response.payload, 314159, "response payload");
};

const clientCompressedUnary: TestCase = async (c) => {
  // 1. The probe: expect_compressed=true sent uncompressed must be refused.
  const probe = largeRequest({ expectCompressed: { value: true } });
  await expectProbeRefused(c, c.client.unaryCall(probe, options(c)));
  check(!c.tap.sentCompressed(probe), "the probe went out compressed");
  // 2. Compressed.
  const compressed = largeRequest({ expectCompressed: { value: true } });
  const first = await c.client.unaryCall(compressed, { ...options(c), compression: "gzip" });
  check(c.tap.sentCompressed(compressed), "the request of the compressed call went out without the compressed flag");
  checkPayload(first.payload, 314159, "response payload of the compressed call");
  // 3. Uncompressed.
  const uncompressed = largeRequest({ expectCompressed: { value: false } });
  const second = await c.client.unaryCall(uncompressed, options(c));
  check(!c.tap.sentCompressed(uncompressed), "the request of the uncompressed call went out compressed");
  checkPayload(second.payload, 314159, "response payload of the uncompressed call");
};

const serverCompressedUnary: TestCase = async (c) => {
  for (const compressed of [true, false]) {
    const response = await c.client.unaryCall(largeRequest({ responseCompressed: { value: compressed } }), options(c));
    check(
      c.tap.receivedCompressed(response) === compressed,
      `response_compressed=${compressed}, but the response came ${compressed ? "without" : "with"} the compressed flag`,
    );
    checkPayload(response.payload, 314159, `response payload (response_compressed=${compressed})`);
  }
};

const clientStreaming: TestCase = async (c) => {
  const requests: StreamingInputInit[] = CLIENT_STREAMING_SIZES.map((size) => ({ payload: zeros(size) }));
  const response = await c.client.streamingInputCall(requests, options(c));
  checkEqual(response.aggregatedPayloadSize, 74922, "aggregated_payload_size");
};

const clientCompressedStreaming: TestCase = async (c) => {
  // 1. The probe: one uncompressed message that claims to be compressed must be refused.
  const probe: StreamingInputInit = { expectCompressed: { value: true }, payload: zeros(27182) };
  await expectProbeRefused(c, c.client.streamingInputCall([probe], options(c)));
  check(!c.tap.sentCompressed(probe), "the probe went out compressed");
  // 2. A compressed call whose second message goes out uncompressed.
  const first: StreamingInputInit = { expectCompressed: { value: true }, payload: zeros(27182) };
  const second: StreamingInputInit = sendUncompressed({ expectCompressed: { value: false }, payload: zeros(45904) });
  const response = await c.client.streamingInputCall([first, second], { ...options(c), compression: "gzip" });
  check(c.tap.sentCompressed(first), "the first message went out without the compressed flag");
  check(!c.tap.sentCompressed(second), "the second message went out compressed");
  checkEqual(response.aggregatedPayloadSize, 73086, "aggregated_payload_size");
};

const serverStreaming: TestCase = async (c) => {
  const request: StreamingOutputInit = { responseParameters: SERVER_STREAMING_SIZES.map((size) => ({ size })) };
  const responses = await collect(c.client.streamingOutputCall(request, options(c)));
  checkResponseSizes(responses, SERVER_STREAMING_SIZES);
};

const serverCompressedStreaming: TestCase = async (c) => {
  const request: StreamingOutputInit = {
    responseParameters: [
      { compressed: { value: true }, size: 31415 },
      { compressed: { value: false }, size: 92653 },
    ],
  };
  const responses = await collect(c.client.streamingOutputCall(request, options(c)));
  checkResponseSizes(responses, [31415, 92653]);
  check(c.tap.receivedCompressed(responses[0]!), "the first response (compressed=true) came without the compressed flag");
  check(!c.tap.receivedCompressed(responses[1]!), "the second response (compressed=false) came with the compressed flag");
};

const pingPong: TestCase = async (c) => {
  const requests = createPushable<StreamingOutputInit>();
  const call = c.client.fullDuplexCall(requests, options(c));
  const responses = call[Symbol.asyncIterator]();
  try {
    for (let i = 0; i < SERVER_STREAMING_SIZES.length; i++) {
      requests.push({ responseParameters: [{ size: SERVER_STREAMING_SIZES[i]! }], payload: zeros(CLIENT_STREAMING_SIZES[i]!) });
      const next = await responses.next();
      check(!next.done, `the call ended after ${i} responses, expected 4`);
      checkPayload(next.value.payload, SERVER_STREAMING_SIZES[i]!, `response ${i + 1} payload`);
    }
    requests.end();
    const end = await responses.next();
    check(end.done === true, "more than four responses");
  } finally {
    requests.end();
    call.cancel(); // a no-op when the call ended; stops it when a check failed midway
  }
};

const emptyStream: TestCase = async (c) => {
  const responses = await collect(c.client.fullDuplexCall([], options(c)));
  checkEqual(responses.length, 0, "number of responses");
};

const timeoutOnSleepingServer: TestCase = async (c) => {
  const requests = createPushable<StreamingOutputInit>();
  requests.push({ payload: zeros(27182) });
  try {
    await expectError(collect(c.client.fullDuplexCall(requests, { ...options(c), timeoutMs: 1 })), Code.DEADLINE_EXCEEDED, "the call with a 1 ms timeout");
  } finally {
    requests.end();
  }
};

const cancelAfterBegin: TestCase = async (c) => {
  // Connected first, so that the request headers really go out before the cancel.
  await c.channel.waitForReady({ timeoutMs: Math.max(c.deadline - Date.now(), 0) });
  const requests = createPushable<StreamingInputInit>();
  const call = c.client.streamingInputCall(requests, options(c));
  call.cancel();
  try {
    await expectError(call, Code.CANCELLED, "the cancelled call");
  } finally {
    requests.end();
  }
};

const cancelAfterFirstResponse: TestCase = async (c) => {
  const requests = createPushable<StreamingOutputInit>();
  const call = c.client.fullDuplexCall(requests, options(c));
  const responses = call[Symbol.asyncIterator]();
  try {
    requests.push({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
    const first = await responses.next();
    check(!first.done, "the call ended without a response");
    checkPayload(first.value.payload, 31415, "response payload");
    call.cancel();
    const status = await call.status;
    check(status.code === Code.CANCELLED, `the call ended ${describeStatus(status.code, status.details)}, expected CANCELLED`);
    await expectError(responses.next(), Code.CANCELLED, "reading after the cancel");
  } finally {
    requests.end();
    call.cancel();
  }
};

const customMetadata: TestCase = async (c) => {
  const metadata = { [ECHO_INITIAL_KEY]: ECHO_INITIAL_VALUE, [ECHO_TRAILING_KEY]: ECHO_TRAILING_VALUE };
  // 1. UnaryCall.
  const unary = c.client.unaryCall(largeRequest(), { ...options(c), metadata });
  checkPayload((await unary).payload, 314159, "UnaryCall response payload");
  checkEchoedMetadata(await unary.headers, await unary.trailers, "UnaryCall");
  // 2. FullDuplexCall.
  const request: StreamingOutputInit = { responseParameters: [{ size: 314159 }], payload: zeros(271828) };
  const bidi = c.client.fullDuplexCall([request], { ...options(c), metadata });
  checkResponseSizes(await collect(bidi), [314159]);
  checkEchoedMetadata(await bidi.headers, await bidi.trailers, "FullDuplexCall");
};

const statusCodeAndMessage: TestCase = async (c) => {
  await checkEchoedStatus(c, Code.UNKNOWN, "test status message", true);
};

const specialStatusMessage: TestCase = async (c) => {
  await checkEchoedStatus(c, Code.UNKNOWN, SPECIAL_STATUS_MESSAGE, false);
};

const unimplementedMethod: TestCase = async (c) => {
  await expectError(c.client.unimplementedCall({}, options(c)), Code.UNIMPLEMENTED, "grpc.testing.TestService/UnimplementedCall");
};

const unimplementedService: TestCase = async (c) => {
  await expectError(
    c.unimplementedClient.unimplementedCall({}, options(c)),
    Code.UNIMPLEMENTED,
    "grpc.testing.UnimplementedService/UnimplementedCall",
  );
};

/** Every case this client runs, in the order `--test_case=all` runs them. */
export const TEST_CASES: ReadonlyMap<string, TestCase> = new Map([
  ["empty_unary", emptyUnary],
  ["large_unary", largeUnary],
  ["client_compressed_unary", clientCompressedUnary],
  ["server_compressed_unary", serverCompressedUnary],
  ["client_streaming", clientStreaming],
  ["client_compressed_streaming", clientCompressedStreaming],
  ["server_streaming", serverStreaming],
  ["server_compressed_streaming", serverCompressedStreaming],
  ["ping_pong", pingPong],
  ["empty_stream", emptyStream],
  ["timeout_on_sleeping_server", timeoutOnSleepingServer],
  ["cancel_after_begin", cancelAfterBegin],
  ["cancel_after_first_response", cancelAfterFirstResponse],
  ["custom_metadata", customMetadata],
  ["status_code_and_message", statusCodeAndMessage],
  ["special_status_message", specialStatusMessage],
  ["unimplemented_method", unimplementedMethod],
  ["unimplemented_service", unimplementedService],
]);

// ---- helpers -----------------------------------------------------------------------------------------

function options(c: CaseContext): CallOptions {
  return { deadline: c.deadline };
}

function zeros(size: number): { type: PayloadType; body: Uint8Array } {
  return { type: PayloadType.COMPRESSABLE, body: new Uint8Array(size) };
}

/** The 271828-byte request asking for a 314159-byte response, with `extra` fields. */
function largeRequest(extra: Pick<SimpleRequestInit, "expectCompressed" | "responseCompressed"> = {}): SimpleRequestInit {
  return { responseType: PayloadType.COMPRESSABLE, responseSize: 314159, payload: zeros(271828), ...extra };
}

async function collect(responses: AsyncIterable<StreamingOutputCallResponse>): Promise<StreamingOutputCallResponse[]> {
  const all: StreamingOutputCallResponse[] = [];
  for await (const response of responses) all.push(response);
  return all;
}

/** Status Code and Message / Special Status Message, over UnaryCall and (optionally) FullDuplexCall. */
async function checkEchoedStatus(c: CaseContext, code: Code, message: string, alsoBidi: boolean): Promise<void> {
  const responseStatus = { code, message };
  const unary = await expectError(c.client.unaryCall({ responseStatus }, options(c)), code, "UnaryCall");
  checkEqual(unary.details, message, "UnaryCall status message");
  if (!alsoBidi) return;
  const bidi = await expectError(collect(c.client.fullDuplexCall([{ responseStatus }], options(c))), code, "FullDuplexCall");
  checkEqual(bidi.details, message, "FullDuplexCall status message");
}

function checkEchoedMetadata(headers: Metadata, trailers: Metadata, call: string): void {
  const initial = headers.get(ECHO_INITIAL_KEY);
  checkEqual(initial, ECHO_INITIAL_VALUE, `${call} initial metadata ${ECHO_INITIAL_KEY}`);
  const trailing = trailers.get(ECHO_TRAILING_KEY);
  check(trailing instanceof Uint8Array, `${call} trailing metadata has no ${ECHO_TRAILING_KEY}`);
  check(Buffer.from(trailing).equals(Buffer.from(ECHO_TRAILING_VALUE)),
    `${call} trailing metadata ${ECHO_TRAILING_KEY} is 0x${Buffer.from(trailing).toString("hex")}, expected 0xababab`);
}

function checkResponseSizes(responses: readonly StreamingOutputCallResponse[], sizes: readonly number[]): void {
  checkEqual(responses.length, sizes.length, "number of responses");
  responses.forEach((response, i) => checkPayload(response.payload, sizes[i]!, `response ${i + 1} payload`));
}

function checkPayload(payload: Payload | undefined, size: number, what: string): void {
  const body = payload?.body ?? new Uint8Array(0);
  check(body.length === size, `${what} is ${body.length} bytes, expected ${size}`);
  check(body.every((byte) => byte === 0), `${what} is not all zeros`);
}

/**
 * The CompressedRequest feature probe must fail with INVALID_ARGUMENT. A server that accepts it cannot
 * check request compression at all: that is reported as the NOTE "server-accepted-uncompressed-probe"
 * and the case goes on (so the client's own part is still checked); whoever runs the client decides
 * whether such a server is acceptable (the interop matrix fails the pairing unless the server has that
 * limitation on record). Any other outcome fails the case.
 */
async function expectProbeRefused(c: CaseContext, call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    const what = "the feature probe (expect_compressed=true, sent uncompressed)";
    check(err.code === Code.INVALID_ARGUMENT, `${what} ended ${describeStatus(err.code, err.details)}, expected INVALID_ARGUMENT`);
    return;
  }
  c.note("server-accepted-uncompressed-probe: the uncompressed probe with expect_compressed=true succeeded");
}

/** Awaits `call`, which must fail with `code`; returns the error. */
async function expectError(call: Promise<unknown>, code: Code, what: string): Promise<RpcError> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    check(err.code === code, `${what} ended ${describeStatus(err.code, err.details)}, expected ${codeName(code)}`);
    return err;
  }
  throw new CaseFailure(`${what} succeeded, expected ${codeName(code)}`);
}

function describeStatus(code: Code, details: string): string {
  return details === "" ? codeName(code) : `${codeName(code)} (${JSON.stringify(details)})`;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}

function checkEqual<T>(actual: T, expected: T, what: string): void {
  check(actual === expected, `${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}
