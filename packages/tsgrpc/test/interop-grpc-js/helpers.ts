// Test-side helpers of the grpc-js interop tests: the peer server processes, a byte-counting TCP proxy
// (to see on the wire whether messages were compressed) and small shared utilities.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import type { Stats } from "./peers/echo-behaviour.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const PEERS = fileURLToPath(new URL("./peers/", import.meta.url));

export type PeerName = "grpc-js-echo-server.ts" | "tsgrpc-echo-server.ts";

export interface Peer {
  readonly port: number;
  readonly address: string;
  readonly child: ChildProcess;
  /** Closes the peer's stdin (it exits by itself), SIGKILL if it has not gone within 5 s. */
  stop(): Promise<void>;
}

/** Starts a peer server as its own node process and waits for its "PORT <n>" line. */
export async function startPeer(name: PeerName, startTimeoutMs = 30_000): Promise<Peer> {
  const child = spawn(process.execPath, ["--conditions=tsgrpc-source", "--import", "tsx", PEERS + name], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 5000)));
      const late = await Promise.race([exited.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    child.stdin?.destroy();
    child.stdout?.destroy();
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(() => reject(new Error(`${name} did not print its port within ${startTimeoutMs} ms`)), startTimeoutMs);
      const onData = (chunk: string): void => {
        text += chunk;
        const match = /^PORT (\d+)$/m.exec(text);
        if (!match) return;
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume(); // keep draining whatever else it prints
        resolve(Number(match[1]));
      };
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (code ${code}, signal ${signal}) before printing its port`));
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return { port, address: `127.0.0.1:${port}`, child, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A TCP proxy on 127.0.0.1 that forwards to `targetPort` and counts the bytes each way, so a test can
 * tell from the wire whether a 256 KiB message went out compressed.
 */
export class CountingProxy {
  /** Bytes from the client to the server. */
  up = 0;
  /** Bytes from the server to the client. */
  down = 0;
  /** TCP connections accepted so far. */
  connections = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(targetPort: number): Promise<CountingProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const proxy = new CountingProxy(server, (server.address() as net.AddressInfo).port);
    server.on("connection", (client) => proxy.forward(client, targetPort));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  reset(): void {
    this.up = 0;
    this.down = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: net.Socket, targetPort: number): void {
    this.connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("close", () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on("error", () => {});
    }
    client.on("data", (chunk: Buffer) => {
      this.up += chunk.length;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      this.down += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export function parseStats(message: string): Stats {
  return JSON.parse(message) as Stats;
}

let nextId = 0;
/** A call id unique in this test process, for x-call-id. */
export function callId(label: string): string {
  return `${label}-${process.pid}-${++nextId}`;
}

export function randomPayload(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

export const MiB = 1024 * 1024;
/** A compressible payload size whose compressed form is tiny compared to it. */
export const COMPRESSIBLE = 256 * 1024;

/** Odd-length bytes (unpadded base64 on the wire) including 0x00 and 0xff. */
export const BIN_VALUE = Uint8Array.of(0x00, 0xff, 0x10, 0x80, 0x7f);
export const BIN_VALUE_2 = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);

/** Unicode, '%' and reserved URI characters: everything grpc-message has to percent-encode or keep. */
export const UNICODE_DETAILS = "résumé ✓ 日本語 — 100% done; a,b:c?d=e&f #1 😀\nsecond line\ttab";

/** Byte-for-byte equality of two byte arrays (Buffer or Uint8Array alike), without dumping megabytes on failure. */
export function assertSameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what = "payload"): void {
  if (actual === undefined) throw new Error(`${what}: missing`);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let at = 0;
  while (at < Math.min(a.length, b.length) && a[at] === b[at]) at++;
  throw new Error(`${what}: ${a.length} bytes, expected ${b.length}; first difference at byte ${at}`);
}
