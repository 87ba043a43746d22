// A promise-shaped Echo client on @grpc/grpc-js's low-level API (grpc.Client + make*Request), for the
// tests where grpc-js is the client. Every call resolves (never rejects) with what the client saw:
// initial metadata, responses and the final status with its trailing metadata.
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { EchoResponse } from "../gen/echo_pb.js";
import { deserializeResponse, ECHO_PATHS, serializeRequest, type EchoRequestInit } from "./peers/grpc-js-codec.js";

export type MetadataRecord = Record<string, string | Uint8Array | ReadonlyArray<string | Uint8Array>>;

export interface JsCallOptions {
  metadata?: MetadataRecord;
  timeoutMs?: number;
}

export interface JsResult {
  /** Initial metadata, if the client got any ("metadata" event). */
  headers: grpc.Metadata | undefined;
  responses: EchoResponse[];
  status: grpc.StatusObject;
}

export type JsCall<C> = Promise<JsResult> & { call: C };

export function toJsMetadata(record: MetadataRecord | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(record ?? {})) {
    const values = Array.isArray(value) ? (value as ReadonlyArray<string | Uint8Array>) : [value as string | Uint8Array];
    for (const v of values) metadata.add(key, typeof v === "string" ? v : Buffer.from(v));
  }
  return metadata;
}

/** Every value of `key` as bytes (for -bin keys) or strings. */
export function jsValues(metadata: grpc.Metadata | undefined, key: string): Array<string | Buffer> {
  return metadata ? metadata.get(key) : [];
}

function callOptions(options: JsCallOptions): grpc.CallOptions {
  return options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

/** Collects a call's events into a JsResult; resolves on "status". */
function collect<C extends NodeJS.EventEmitter>(call: C, onValue?: (set: (r: EchoResponse) => void) => void): JsCall<C> {
  const responses: EchoResponse[] = [];
  let headers: grpc.Metadata | undefined;
  const done = new Promise<JsResult>((resolve) => {
    call.on("metadata", (metadata: grpc.Metadata) => (headers = metadata));
    call.on("data", (response: EchoResponse) => responses.push(response));
    call.on("error", () => {}); // the status event carries the same information
    call.on("status", (status: grpc.StatusObject) => {
      // "status" may come before the last "data" of a stream has been read: settle on the next turn.
      setImmediate(() => resolve({ headers, responses, status }));
    });
  });
  onValue?.((response) => responses.push(response));
  return Object.assign(done, { call });
}

/** Writes requests with backpressure; ends the request stream unless `end` is false. */
export async function writeAll(
  stream: grpc.ClientWritableStream<EchoRequestInit> | grpc.ClientDuplexStream<EchoRequestInit, EchoResponse>,
  requests: Iterable<EchoRequestInit>,
  end = true,
): Promise<void> {
  for (const request of requests) {
    if (!stream.write(request)) {
      const closed = new Promise((resolve) => stream.once("close", resolve));
      await Promise.race([once(stream, "drain"), closed]);
    }
  }
  if (end) stream.end();
}

export class JsEchoClient {
  readonly client: grpc.Client;

  constructor(address: string, options: grpc.ChannelOptions = {}) {
    // A local subchannel pool: every client has its own connection, closed with it.
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1, ...options });
  }

  close(): void {
    this.client.close();
  }

  unary(request: EchoRequestInit, options: JsCallOptions = {}): JsCall<grpc.ClientUnaryCall> {
    let setValue: ((r: EchoResponse) => void) | undefined;
    let pending: EchoResponse | undefined;
    const call = this.client.makeUnaryRequest(
      ECHO_PATHS.unary,
      serializeRequest,
      deserializeResponse,
      request,
      toJsMetadata(options.metadata),
      callOptions(options),
      (_err, value) => {
        if (value === undefined) return;
        if (setValue) setValue(value);
        else pending = value;
      },
    );
    return collect(call, (set) => {
      setValue = set;
      if (pending) set(pending);
    });
  }

  /** A unary call to any path (for UNIMPLEMENTED checks). */
  unaryAt(path: string, request: EchoRequestInit): JsCall<grpc.ClientUnaryCall> {
    const call = this.client.makeUnaryRequest(path, serializeRequest, deserializeResponse, request, new grpc.Metadata(), {}, () => {});
    return collect(call);
  }

  serverStream(request: EchoRequestInit, options: JsCallOptions = {}): JsCall<grpc.ClientReadableStream<EchoResponse>> {
    const call = this.client.makeServerStreamRequest(
      ECHO_PATHS.serverStream,
      serializeRequest,
      deserializeResponse,
      request,
      toJsMetadata(options.metadata),
      callOptions(options),
    );
    return collect(call);
  }

  /** Requests are written (then the stream ended) unless `requests` is undefined: then the test writes. */
  clientStream(requests: Iterable<EchoRequestInit> | undefined, options: JsCallOptions = {}): JsCall<grpc.ClientWritableStream<EchoRequestInit>> {
    let setValue: ((r: EchoResponse) => void) | undefined;
    let pending: EchoResponse | undefined;
    const call = this.client.makeClientStreamRequest(
      ECHO_PATHS.clientStream,
      serializeRequest,
      deserializeResponse,
      toJsMetadata(options.metadata),
      callOptions(options),
      (_err: grpc.ServiceError | null, value?: EchoResponse) => {
        if (value === undefined) return;
        if (setValue) setValue(value);
        else pending = value;
      },
    );
    const result = collect(call, (set) => {
      setValue = set;
      if (pending) set(pending);
    });
    if (requests) void writeAll(call, requests);
    return result;
  }

  bidi(requests: Iterable<EchoRequestInit> | undefined, options: JsCallOptions = {}): JsCall<grpc.ClientDuplexStream<EchoRequestInit, EchoResponse>> {
    const call = this.client.makeBidiStreamRequest(
      ECHO_PATHS.bidi,
      serializeRequest,
      deserializeResponse,
      toJsMetadata(options.metadata),
      callOptions(options),
    );
    const result = collect(call);
    if (requests) void writeAll(call, requests);
    return result;
  }
}
