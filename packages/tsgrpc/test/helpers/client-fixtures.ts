import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { TestContext } from "node:test";
import {
  Code,
  codeName,
  createChannel,
  createClient,
  RpcError,
  type Channel,
  type ChannelOptions,
  type Server,
  type ServerContext,
  type ServerOptions,
} from "tsgrpc";
import { Echo } from "../gen/echo_pb.js";
import { aborted, deferred, echoImpl, sleep, startTestServer, type TestServer } from "./test-server.js";

/**
 * Client-side fixtures for the end-to-end tests in test/client: a server and channel whose cleanup is
 * registered on the test, and small assertion helpers.
 */

/** Starts a tsgrpc server on 127.0.0.1:0 (Echo served unless `setup` says otherwise); shut down after the test. */
export async function serve(
  t: TestContext,
  setup: (server: Server) => void = (s) => s.addService(Echo, echoImpl),
  options: ServerOptions & { address?: string } = {},
): Promise<TestServer> {
  const server = await startTestServer(setup, options);
  t.after(() => server.close());
  return server;
}

/**
 * An Echo server advertising `maxConcurrentStreams` whose unary handler holds each call for `holdMs`
 * and records how many ran at once (`mostAtOnce()`).
 */
export async function concurrencyCountingServer(t: TestContext, maxConcurrentStreams: number, holdMs: number) {
  let running = 0;
  let most = 0;
  const { port } = await serve(
    t,
    (s) =>
      s.addService(Echo, {
        ...echoImpl,
        unary: async (r) => {
          most = Math.max(most, ++running);
          await sleep(holdMs);
          running--;
          return { message: r.message };
        },
      }),
    { maxConcurrentStreams },
  );
  return { port, mostAtOnce: () => most };
}

/**
 * An Echo server whose handlers hand their context to the test and then hold the call until its signal
 * fires (cancel, deadline, shutdown). Streaming responses come first: `serverStream` sends
 * max(count, 1) messages, `bidi` one ({ index: 0, message: "first" }). `next()` resolves with the
 * context of the next call to arrive, `contexts` lists them all.
 */
export async function holdingServer(t: TestContext) {
  const contexts: ServerContext[] = [];
  let arrival = deferred<ServerContext>();
  const hold = async (ctx: ServerContext): Promise<void> => {
    contexts.push(ctx);
    arrival.resolve(ctx);
    await aborted(ctx.signal);
  };
  const { port } = await serve(t, (s) =>
    s.addService(Echo, {
      unary: async (_r, ctx) => {
        await hold(ctx);
        return {};
      },
      async *serverStream(r, ctx) {
        for (let index = 0; index < Math.max(r.count, 1); index++) yield { index };
        await hold(ctx);
      },
      async clientStream(_requests, ctx) {
        await hold(ctx);
        return {};
      },
      async *bidi(_requests, ctx) {
        yield { index: 0, message: "first" };
        await hold(ctx);
      },
    }),
  );
  const next = async (): Promise<ServerContext> => {
    const ctx = await arrival.promise;
    arrival = deferred<ServerContext>();
    return ctx;
  };
  return { port, contexts, next };
}

/** A channel closed after the test. */
export function channelFor(t: TestContext, target: string | number, options?: ChannelOptions): Channel {
  const channel = createChannel(typeof target === "number" ? `127.0.0.1:${target}` : target, undefined, options);
  t.after(() => channel.close());
  return channel;
}

/** A typed Echo client on a fresh channel to `port` (both closed after the test). */
export function echoClient(t: TestContext, port: number, options?: ChannelOptions) {
  const channel = channelFor(t, port, options);
  return { channel, client: createClient(Echo, channel) };
}

/** A port nobody listens on right now (bound to 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Asserts `promise` rejects with an RpcError of `code` and returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: Code, details?: RegExp): Promise<RpcError> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error !== undefined, `expected ${codeName(code)}, but the call succeeded`);
  assert.ok(error instanceof RpcError, `expected an RpcError, got ${String(error)}`);
  assert.equal(codeName(error.code), codeName(code), `unexpected status: ${error.message}`);
  if (details) assert.match(error.details, details);
  return error;
}

/** Every item of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Resolves when a promise settles, or rejects after `ms` (so a bug shows as a failure, not a hang). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A bare node:http2 server that answers every stream with `onStream`: for responses tsgrpc's own server
 * never sends (resets, odd HTTP statuses, unknown encodings). Closed after the test.
 */
export async function rawServer(
  t: TestContext,
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<number> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => undefined);
    session.once("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    onStream(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** The 5-byte gRPC message prefix plus `payload`. */
export function grpcFrame(payload: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

export interface CountingProxy {
  port: number;
  /** Bytes from client to server so far. */
  up(): number;
  /** Bytes from server to client so far. */
  down(): number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Drops every connection at once, as a network failure would. */
  cut(): void;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort` that counts the bytes going each way: a way to see
 * from outside whether messages were compressed on the wire. Closed after the test.
 */
export async function countingProxy(t: TestContext, targetPort: number): Promise<CountingProxy> {
  let up = 0;
  let down = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => (up += chunk.length));
    upstream.on("data", (chunk: Buffer) => (down += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    up: () => up,
    down: () => down,
    connections: () => connections,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
