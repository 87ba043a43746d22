import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { createServer, type Server, type ServerOptions, type ServiceImplementation } from "../../src/index.js";
import { Echo, EchoRequestSchema, EchoResponseSchema, type EchoRequest, type EchoResponse } from "../gen/echo_pb.js";

export interface TestServer {
  server: Server;
  port: number;
  /** forceShutdown: running calls are cancelled and every connection is closed. */
  close(): Promise<void>;
}

/**
 * A tsgrpc server on 127.0.0.1 with a free port. `setup` registers services before it listens.
 * Pass `address` to bind somewhere else (e.g. "[::1]:0").
 */
export async function startTestServer(
  setup: (server: Server) => void,
  options: ServerOptions & { address?: string } = {},
): Promise<TestServer> {
  const { address = "127.0.0.1:0", ...serverOptions } = options;
  const server = createServer(serverOptions);
  setup(server);
  const port = await server.bind(address);
  return { server, port, close: () => server.forceShutdown() };
}

export const ECHO = "/tsgrpc.test.Echo";
export const UNARY = `${ECHO}/Unary`;
export const SERVER_STREAM = `${ECHO}/ServerStream`;
export const CLIENT_STREAM = `${ECHO}/ClientStream`;
export const BIDI = `${ECHO}/Bidi`;

export function encodeRequest(init: MessageInitShape<typeof EchoRequestSchema> = {}): Uint8Array {
  return toBinary(EchoRequestSchema, create(EchoRequestSchema, init));
}

export function decodeRequest(bytes: Uint8Array): EchoRequest {
  return fromBinary(EchoRequestSchema, bytes);
}

export function decodeResponse(bytes: Uint8Array): EchoResponse {
  return fromBinary(EchoResponseSchema, bytes);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `signal` aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

/** A promise plus its resolve function, for handing events from a handler to the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `condition` until it holds (or fails after `timeoutMs`). */
export async function until(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * The Echo service the tests share: unary echoes, serverStream yields `count` responses, clientStream
 * joins the messages it got, bidi answers each request as it arrives. Responses are plain init objects.
 */
export const echoImpl: ServiceImplementation<typeof Echo> = {
  unary: (request) => ({ message: request.message, payload: request.payload }),
  async *serverStream(request) {
    for (let index = 0; index < request.count; index++) yield { message: request.message, index };
  },
  async clientStream(requests) {
    const parts: string[] = [];
    for await (const request of requests) parts.push(request.message);
    return { message: parts.join(","), index: parts.length };
  },
  async *bidi(requests) {
    let index = 0;
    for await (const request of requests) yield { message: request.message, index: index++ };
  },
};
