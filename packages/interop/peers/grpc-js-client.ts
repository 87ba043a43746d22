// Interop test client on @grpc/grpc-js, a peer for tsgrpc's interop matrix. It runs the test cases of
// doc/interop-test-descriptions.md against a TestService server.
//
//   node packages/interop/dist/peers/grpc-js-client.js --server_host=H --server_port=N
//        --test_case=all|a,b,c [--use_tls=true] [--use_test_ca=true] [--ca_file=F] [--server_host_override=NAME]
//
// Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per case and "N passed, N failed" at the
// end; exits non-zero if a case failed. A case a grpc-js client cannot fully perform (limitations.json) is
// reported as SKIP with the reason. "NOTE name: ..." lines carry observations about the server.
//
// Compression: requests are compressed through a second channel made with
// grpc.default_compression_algorithm=gzip; one message of such a call is sent uncompressed with the
// NoCompress write flag. grpc-js does not tell the application whether a response was compressed.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import {
  ECHO_INITIAL_KEY,
  ECHO_TRAILING_KEY,
  isTrue,
  loadTestProtos,
  parseFlags,
  type Payload,
  type SimpleRequest,
  type SimpleResponse,
  type StreamingInputCallRequest,
  type StreamingInputCallResponse,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
} from "./grpc-js-common.js";
import { INTEROP_CASE_NAMES, type InteropCaseName } from "../src/case-names.js";

const CASE_DEADLINE_MS = 20_000;
/** WriteFlags.NoCompress of grpc-js (a const enum in its typings, so not importable as a value). */
const WRITE_FLAG_NO_COMPRESS = 2;
const GZIP = 2; // grpc-js CompressionAlgorithms.gzip


class Skip extends Error {}
class Failure extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Failure(message);
}

const deadline = (ms = CASE_DEADLINE_MS) => ({ deadline: Date.now() + ms });
const zeros = (n: number): Payload => ({ type: "COMPRESSABLE", body: Buffer.alloc(n) });

function checkPayload(payload: Payload | null | undefined, size: number, what: string): void {
  const body = payload?.body ?? Buffer.alloc(0);
  check(body.length === size, `${what}: payload body is ${body.length} bytes, expected ${size}`);
  check(body.every((byte) => byte === 0), `${what}: payload body is not all zeros`);
}

const statusName = (code: number | undefined) => (code === undefined ? "none" : (grpc.status[code] ?? String(code)));

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as grpc.ServiceError).code === "number";
}

/** Awaits a call that must fail with the given code; returns the error. */
async function expectStatus(promise: Promise<unknown>, code: grpc.status, what: string): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    check(error.code === code, `${what}: expected status ${statusName(code)}, got ${statusName(error.code)} (${JSON.stringify(error.details)})`);
    return error;
  }
  throw new Failure(`${what}: expected status ${statusName(code)}, but the call succeeded`);
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

interface UnaryResult<Res> {
  response: Res;
  initial: grpc.Metadata | null;
  trailing: grpc.Metadata | null;
}

function unary<Req, Res>(
  client: grpc.Client,
  method: string,
  request: Req,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = deadline(),
): Promise<UnaryResult<Res>> {
  return new Promise((resolve, reject) => {
    let initial: grpc.Metadata | null = null;
    let trailing: grpc.Metadata | null = null;
    let outcome: { error: grpc.ServiceError | null; response?: Res } | null = null;
    const finish = () => {
      if (!outcome || trailing === null) return;
      if (outcome.error) reject(outcome.error);
      else resolve({ response: outcome.response as Res, initial, trailing });
    };
    const call = ((client as unknown as Record<string, UnaryMethod<Req, Res>>)[method]!).call(client, request, metadata, options, (error, response) => {
      outcome = { error, response };
      finish();
    });
    call.on("metadata", (md) => (initial = md));
    call.on("status", (status) => {
      trailing = status.metadata;
      finish();
    });
  });
}

/** Collects a response stream: all messages, initial metadata and the status (rejecting on failure). */
function collect<Res>(
  call: grpc.ClientReadableStream<Res> | grpc.ClientDuplexStream<StreamingOutputCallRequest, Res>,
): Promise<{ responses: Res[]; initial: grpc.Metadata | null; trailing: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    const responses: Res[] = [];
    let initial: grpc.Metadata | null = null;
    let error: Error | null = null;
    let status: grpc.StatusObject | null = null;
    let ended = false;
    const finish = () => {
      if (error) reject(error);
      else if (status && ended) resolve({ responses, initial, trailing: status.metadata });
    };
    call.on("metadata", (md) => (initial = md));
    call.on("data", (response: Res) => responses.push(response));
    call.on("error", (e) => {
      error = e;
      finish();
    });
    call.on("end", () => {
      ended = true;
      finish();
    });
    call.on("status", (s) => {
      status = s;
      finish();
    });
  });
}

/** Reads a duplex call's responses one at a time. */
class ResponseReader<Res> {
  private readonly queued: Res[] = [];
  private waiting: { resolve: (r: Res | null) => void; reject: (e: Error) => void } | null = null;
  private done = false;
  private error: Error | null = null;

  constructor(call: grpc.ClientDuplexStream<StreamingOutputCallRequest, Res>) {
    call.on("data", (response: Res) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve(response);
      } else this.queued.push(response);
    });
    call.on("end", () => {
      this.done = true;
      this.waiting?.resolve(null);
      this.waiting = null;
    });
    call.on("error", (error) => {
      this.error = error;
      this.waiting?.reject(error);
      this.waiting = null;
    });
  }

  /** The next response, or null once the stream has ended. */
  next(): Promise<Res | null> {
    if (this.queued.length > 0) return Promise.resolve(this.queued.shift()!);
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }
}

class Cases {
  notes: string[] = [];

  constructor(
    private readonly client: grpc.Client,
    /** The same server through a channel that compresses request messages (gzip). */
    private readonly compressingClient: grpc.Client,
    private readonly unimplementedClient: grpc.Client,
  ) {}

  private largeRequest(extra: Partial<SimpleRequest> = {}): SimpleRequest {
    return { response_type: "COMPRESSABLE", response_size: 314159, payload: zeros(271828), ...extra };
  }

  private duplex(client = this.client, metadata = new grpc.Metadata(), options: grpc.CallOptions = deadline()) {
    return (client as unknown as Record<string, (m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>>)
      .FullDuplexCall!.call(client, metadata, options);
  }

  private streamingInput(
    client: grpc.Client,
    callback: (error: grpc.ServiceError | null, response?: StreamingInputCallResponse) => void,
  ): grpc.ClientWritableStream<StreamingInputCallRequest> {
    return (client as unknown as Record<string, (m: grpc.Metadata, o: grpc.CallOptions, cb: typeof callback) => grpc.ClientWritableStream<StreamingInputCallRequest>>)
      .StreamingInputCall!.call(client, new grpc.Metadata(), deadline(), callback);
  }

  private streamingOutput(request: StreamingOutputCallRequest) {
    return (this.client as unknown as Record<string, (r: StreamingOutputCallRequest, m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientReadableStream<StreamingOutputCallResponse>>)
      .StreamingOutputCall!.call(this.client, request, new grpc.Metadata(), deadline());
  }

  async empty_unary() {
    const { response } = await unary<object, object>(this.client, "EmptyCall", {});
    check(response !== null && typeof response === "object", "response is not an Empty message");
  }

  async large_unary() {
    const { response } = await unary<SimpleRequest, SimpleResponse>(this.client, "UnaryCall", this.largeRequest());
    checkPayload(response.payload, 314159, "response");
  }

  async client_compressed_unary() {
    try {
      await unary(this.client, "UnaryCall", this.largeRequest({ expect_compressed: { value: true } }));
      this.notes.push("server-accepted-uncompressed-probe: the uncompressed probe with expect_compressed=true succeeded");
    } catch (error) {
      if (!isServiceError(error)) throw error;
      check(
        error.code === grpc.status.INVALID_ARGUMENT,
        `probe: expected INVALID_ARGUMENT, got ${statusName(error.code)} (${JSON.stringify(error.details)})`,
      );
    }
    const compressed = await unary<SimpleRequest, SimpleResponse>(
      this.compressingClient,
      "UnaryCall",
      this.largeRequest({ expect_compressed: { value: true } }),
    );
    checkPayload(compressed.response.payload, 314159, "compressed call");
    const uncompressed = await unary<SimpleRequest, SimpleResponse>(
      this.client,
      "UnaryCall",
      this.largeRequest({ expect_compressed: { value: false } }),
    );
    checkPayload(uncompressed.response.payload, 314159, "uncompressed call");
  }

  async server_compressed_unary() {
    for (const value of [true, false]) {
      const { response } = await unary<SimpleRequest, SimpleResponse>(
        this.client,
        "UnaryCall",
        this.largeRequest({ response_compressed: { value } }),
      );
      checkPayload(response.payload, 314159, `response_compressed=${value}`);
    }
    throw new Skip(
      "grpc-js does not show the application whether a received message was compressed; both calls succeeded " +
        "with correct payloads, but the compressed flag was not checked",
    );
  }

  async client_streaming() {
    const response = await new Promise<StreamingInputCallResponse>((resolve, reject) => {
      const call = this.streamingInput(this.client, (error, r) => (error ? reject(error) : resolve(r!)));
      for (const n of [27182, 8, 1828, 45904]) call.write({ payload: zeros(n) });
      call.end();
    });
    check(response.aggregated_payload_size === 74922, `aggregated_payload_size is ${response.aggregated_payload_size}, expected 74922`);
  }

  async client_compressed_streaming() {
    // 1. The probe: an uncompressed message with expect_compressed=true.
    try {
      await new Promise<StreamingInputCallResponse>((resolve, reject) => {
        const call = this.streamingInput(this.client, (error, r) => (error ? reject(error) : resolve(r!)));
        call.write({ expect_compressed: { value: true }, payload: zeros(27182) });
        call.end();
      });
      this.notes.push("server-accepted-uncompressed-probe: the uncompressed probe with expect_compressed=true succeeded");
    } catch (error) {
      if (!isServiceError(error)) throw error;
      check(
        error.code === grpc.status.INVALID_ARGUMENT,
        `probe: expected INVALID_ARGUMENT, got ${statusName(error.code)} (${JSON.stringify(error.details)})`,
      );
    }
    // 2. A compressed message, then an uncompressed one (NoCompress), on one call.
    const response = await new Promise<StreamingInputCallResponse>((resolve, reject) => {
      const call = this.streamingInput(this.compressingClient, (error, r) => (error ? reject(error) : resolve(r!)));
      call.write({ expect_compressed: { value: true }, payload: zeros(27182) });
      (call.write as (chunk: unknown, flags: unknown) => boolean)(
        { expect_compressed: { value: false }, payload: zeros(45904) },
        WRITE_FLAG_NO_COMPRESS,
      );
      call.end();
    });
    check(response.aggregated_payload_size === 73086, `aggregated_payload_size is ${response.aggregated_payload_size}, expected 73086`);
  }

  async server_streaming() {
    const sizes = [31415, 9, 2653, 58979];
    const { responses } = await collect(
      this.streamingOutput({ response_type: "COMPRESSABLE", response_parameters: sizes.map((size) => ({ size })) }),
    );
    check(responses.length === sizes.length, `got ${responses.length} responses, expected ${sizes.length}`);
    responses.forEach((r, i) => checkPayload(r.payload, sizes[i]!, `response ${i}`));
  }

  async server_compressed_streaming() {
    const params = [
      { size: 31415, compressed: { value: true } },
      { size: 92653, compressed: { value: false } },
    ];
    const { responses } = await collect(this.streamingOutput({ response_type: "COMPRESSABLE", response_parameters: params }));
    check(responses.length === 2, `got ${responses.length} responses, expected 2`);
    responses.forEach((r, i) => checkPayload(r.payload, params[i]!.size, `response ${i}`));
    throw new Skip(
      "grpc-js does not show the application whether a received message was compressed; the call succeeded " +
        "with correct payloads, but the compressed flags were not checked",
    );
  }

  async ping_pong() {
    const pairs = [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ] as const;
    const call = this.duplex();
    const done = collectStatus(call);
    const reader = new ResponseReader(call);
    try {
      for (const [i, [responseSize, requestSize]] of pairs.entries()) {
        call.write({ response_type: "COMPRESSABLE", response_parameters: [{ size: responseSize }], payload: zeros(requestSize) });
        const response = await reader.next();
        check(response !== null, `the stream ended after ${i} responses, expected 4`);
        checkPayload(response.payload, responseSize, `response ${i}`);
      }
      call.end();
      const extra = await reader.next();
      check(extra === null, "got a response after the half-close, expected none");
      const status = await done;
      check(status.code === grpc.status.OK, `status ${statusName(status.code)}, expected OK`);
    } finally {
      call.cancel();
    }
  }

  async empty_stream() {
    const call = this.duplex();
    const result = collect(call);
    call.end();
    const { responses } = await result;
    check(responses.length === 0, `got ${responses.length} responses, expected none`);
  }

  async timeout_on_sleeping_server() {
    const call = this.duplex(this.client, new grpc.Metadata(), deadline(1));
    const result = collect(call);
    call.on("error", () => {}); // writes after the deadline may fail too
    call.write({ payload: zeros(27182) });
    await expectStatus(result, grpc.status.DEADLINE_EXCEEDED, "call with a 1ms deadline");
  }

  async cancel_after_begin() {
    let call!: grpc.ClientWritableStream<StreamingInputCallRequest>;
    const result = new Promise<StreamingInputCallResponse>((resolve, reject) => {
      call = this.streamingInput(this.client, (error, r) => (error ? reject(error) : resolve(r!)));
    });
    call.cancel();
    await expectStatus(result, grpc.status.CANCELLED, "the cancelled call");
  }

  async cancel_after_first_response() {
    const call = this.duplex();
    const status = collectStatus(call);
    const reader = new ResponseReader(call);
    call.write({ response_type: "COMPRESSABLE", response_parameters: [{ size: 31415 }], payload: zeros(27182) });
    try {
      const response = await reader.next();
      check(response !== null, "the stream ended before the first response");
      checkPayload(response.payload, 31415, "first response");
    } finally {
      call.cancel();
    }
    const { code } = await status;
    check(code === grpc.status.CANCELLED, `status ${statusName(code)}, expected CANCELLED`);
  }

  private echoMetadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(ECHO_INITIAL_KEY, "test_initial_metadata_value");
    metadata.set(ECHO_TRAILING_KEY, Buffer.from([0xab, 0xab, 0xab]));
    return metadata;
  }

  private checkEcho(initial: grpc.Metadata | null, trailing: grpc.Metadata | null, what: string): void {
    const initialValues = initial?.get(ECHO_INITIAL_KEY) ?? [];
    check(
      initialValues.length === 1 && initialValues[0] === "test_initial_metadata_value",
      `${what}: initial metadata ${ECHO_INITIAL_KEY} is ${JSON.stringify(initialValues)}, expected "test_initial_metadata_value"`,
    );
    const trailingValues = trailing?.get(ECHO_TRAILING_KEY) ?? [];
    check(
      trailingValues.length === 1 && Buffer.isBuffer(trailingValues[0]) && trailingValues[0].equals(Buffer.from([0xab, 0xab, 0xab])),
      `${what}: trailing metadata ${ECHO_TRAILING_KEY} is ${JSON.stringify(trailingValues.map((v) => (Buffer.isBuffer(v) ? v.toString("hex") : v)))}, expected [ababab]`,
    );
  }

  async custom_metadata() {
    const unaryResult = await unary<SimpleRequest, SimpleResponse>(this.client, "UnaryCall", this.largeRequest(), this.echoMetadata());
    checkPayload(unaryResult.response.payload, 314159, "UnaryCall response");
    this.checkEcho(unaryResult.initial, unaryResult.trailing, "UnaryCall");

    const call = this.duplex(this.client, this.echoMetadata());
    const result = collect(call);
    call.write({ response_type: "COMPRESSABLE", response_parameters: [{ size: 314159 }], payload: zeros(271828) });
    call.end();
    const { responses, initial, trailing } = await result;
    check(responses.length === 1, `FullDuplexCall: got ${responses.length} responses, expected 1`);
    checkPayload(responses[0]!.payload, 314159, "FullDuplexCall response");
    this.checkEcho(initial, trailing, "FullDuplexCall");
  }

  private checkStatus(error: grpc.ServiceError, code: number, message: string, what: string): void {
    check(error.code === code, `${what}: status ${statusName(error.code)}, expected ${statusName(code)}`);
    check(error.details === message, `${what}: status message ${JSON.stringify(error.details)}, expected ${JSON.stringify(message)}`);
  }

  async status_code_and_message() {
    const code = 2;
    const message = "test status message";
    const unaryError = await expectStatus(
      unary(this.client, "UnaryCall", { response_status: { code, message } }),
      code,
      "UnaryCall",
    );
    this.checkStatus(unaryError, code, message, "UnaryCall");
    const call = this.duplex();
    const result = collect(call);
    call.write({ response_status: { code, message } });
    call.end();
    const duplexError = await expectStatus(result, code, "FullDuplexCall");
    this.checkStatus(duplexError, code, message, "FullDuplexCall");
  }

  async special_status_message() {
    const code = 2;
    const message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n";
    const error = await expectStatus(unary(this.client, "UnaryCall", { response_status: { code, message } }), code, "UnaryCall");
    this.checkStatus(error, code, message, "UnaryCall");
  }

  async unimplemented_method() {
    await expectStatus(unary(this.client, "UnimplementedCall", {}), grpc.status.UNIMPLEMENTED, "TestService/UnimplementedCall");
  }

  async unimplemented_service() {
    await expectStatus(
      unary(this.unimplementedClient, "UnimplementedCall", {}),
      grpc.status.UNIMPLEMENTED,
      "UnimplementedService/UnimplementedCall",
    );
  }
}

/** Resolves with the call's final status, whatever it is. */
function collectStatus<Req, Res>(call: grpc.ClientDuplexStream<Req, Res>): Promise<grpc.StatusObject> {
  call.on("error", () => {});
  return new Promise((resolve) => call.on("status", resolve));
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const selected = flags.get("test_case") ?? "all";
  const names = selected === "all" ? [...INTEROP_CASE_NAMES] : selected.split(",").filter((n) => n.length > 0);
  const unknown = names.filter((n) => !(INTEROP_CASE_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    console.error(`unknown test case(s): ${unknown.join(", ")}`);
    return 2;
  }

  const host = flags.get("server_host") ?? "localhost";
  const port = Number(flags.get("server_port"));
  if (!Number.isInteger(port) || port <= 0) throw new Error("--server_port is required");
  const override = flags.get("server_host_override");
  const options: grpc.ChannelOptions = {};
  if (override) options["grpc.default_authority"] = override;
  let credentials: grpc.ChannelCredentials;
  if (isTrue(flags.get("use_tls"))) {
    let rootCerts: Buffer | null = null;
    const caFile = flags.get("ca_file");
    if (isTrue(flags.get("use_test_ca")) || caFile) {
      if (!caFile) throw new Error("--use_test_ca=true needs --ca_file (the test CA is made at test time)");
      rootCerts = readFileSync(caFile);
    }
    credentials = grpc.credentials.createSsl(rootCerts);
    if (override) options["grpc.ssl_target_name_override"] = override;
  } else {
    credentials = grpc.credentials.createInsecure();
  }

  const { TestService, UnimplementedService } = loadTestProtos();
  const target = `${host}:${port}`;
  const client = new TestService(target, credentials, options);
  const compressingClient = new TestService(target, credentials, { ...options, "grpc.default_compression_algorithm": GZIP });
  const unimplementedClient = new UnimplementedService(target, credentials, options);
  const cases = new Cases(client, compressingClient, unimplementedClient);

  let passed = 0;
  let failed = 0;
  for (const name of names as InteropCaseName[]) {
    cases.notes = [];
    let outcome: string;
    try {
      await cases[name]();
      outcome = `PASS ${name}`;
      passed++;
    } catch (error) {
      if (error instanceof Skip) outcome = `SKIP ${name}: ${error.message}`;
      else {
        failed++;
        if (error instanceof Failure) outcome = `FAIL ${name}: ${error.message}`;
        else if (isServiceError(error)) outcome = `FAIL ${name}: unexpected status ${statusName(error.code)}: ${JSON.stringify(error.details)}`;
        else outcome = `FAIL ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      }
    }
    for (const note of cases.notes) console.log(`NOTE ${name}: ${note}`);
    console.log(outcome.replaceAll("\n", "\\n"));
  }
  console.log(`${passed} passed, ${failed} failed`);
  client.close();
  compressingClient.close();
  unimplementedClient.close();
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
