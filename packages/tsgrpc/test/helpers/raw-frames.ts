import * as net from "node:net";
import { readdirSync } from "node:fs";
import { HpackDecoder } from "./hpack-decode.js";

/**
 * A test-only HTTP/2 peer that writes frames built by hand on a plain TCP socket, so tests can send what
 * no HTTP/2 library would (bad SETTINGS, DATA on stream 0, broken HPACK, oversized frames, floods) and
 * see exactly what the server answers and whether it closes the connection.
 */

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** One frame: 9-byte header (24-bit length, type, flags, 31-bit stream id) and its payload. */
export function buildFrame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  out.set(payload, 9);
  return out;
}

export function settingsFrame(entries: Array<[number, number]> = [], ack = false): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return buildFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, payload);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment >>> 0);
  return buildFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return buildFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function pingFrame(data: Uint8Array = Buffer.alloc(8), ack = false): Buffer {
  return buildFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
function hpackInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function hpackString(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(hpackInteger(bytes.length, 7, 0)), bytes]); // no Huffman
}

/**
 * A header block of "literal header field without indexing, new name" entries (RFC 7541 §6.2.2): no
 * dynamic table, no Huffman, so any byte can go into a name or value. Strings are taken as latin1.
 */
export function hpackBlock(headers: Array<[string, string | Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    parts.push(Buffer.from([0x00]), hpackString(Buffer.from(name, "latin1")), hpackString(typeof value === "string" ? Buffer.from(value, "latin1") : value));
  }
  return Buffer.concat(parts);
}

/** The request head of a gRPC call, with `extra` fields after the standard ones. */
export function grpcRequestHeaders(path: string, extra: Array<[string, string | Buffer]> = []): Array<[string, string | Buffer]> {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "localhost"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...extra,
  ];
}

export function headersFrame(streamId: number, block: Buffer, endStream = false): Buffer {
  return buildFrame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), streamId, block);
}

export function dataFrame(streamId: number, payload: Uint8Array, endStream = false): Buffer {
  return buildFrame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, payload);
}

/** A gRPC message: compressed flag, 4-byte length, payload. */
export function grpcMessage(payload: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

export interface ReceivedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface Goaway {
  lastStreamId: number;
  code: number;
  debug: string;
}

/** A raw HTTP/2 connection: frames out as built, frames in as parsed (header blocks HPACK-decoded). */
export class RawFrameClient {
  readonly frames: ReceivedFrame[] = [];
  /** Decoded header blocks (HEADERS without CONTINUATION) per stream, in arrival order. */
  readonly headerBlocks = new Map<number, Array<Array<[string, Buffer]>>>();
  private readonly decoder = new HpackDecoder();
  /** The peer ended its side (FIN) or the socket closed. */
  readonly closed: Promise<void>;
  ended = false;
  isClosed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /**
   * Connects to 127.0.0.1:`port`. With `handshake` (the default) it sends the preface and an empty
   * SETTINGS frame and acknowledges the server's SETTINGS, like any client.
   */
  static async connect(port: number, handshake = true): Promise<RawFrameClient> {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const client = new RawFrameClient(socket);
    if (handshake) {
      client.send(PREFACE, settingsFrame());
      await client.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0, 2000);
      client.send(settingsFrame([], true));
    }
    return client;
  }

  send(...buffers: Buffer[]): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(Buffer.concat(buffers));
  }

  /** The first frame (already received or to come) that matches; rejects after `timeoutMs`. */
  async waitFor(match: (f: ReceivedFrame) => boolean, timeoutMs = 1000): Promise<ReceivedFrame> {
    const giveUpAt = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (this.isClosed) throw new Error("connection closed before the frame came");
      const left = giveUpAt - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a frame");
      await this.sleepUntilActivity(left);
    }
  }

  /** The GOAWAY the server sent, waiting up to `timeoutMs` for it. */
  async goaway(timeoutMs = 1000): Promise<Goaway> {
    const f = await this.waitFor((x) => x.type === FrameType.GOAWAY, timeoutMs);
    return { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString("latin1") };
  }

  /** The GOAWAY if one came, without waiting. */
  goawayIfAny(): Goaway | undefined {
    const f = this.frames.find((x) => x.type === FrameType.GOAWAY);
    return f && { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString("latin1") };
  }

  /** The RST_STREAM code the server sent on `streamId`, waiting up to `timeoutMs`. */
  async rstCode(streamId: number, timeoutMs = 1000): Promise<number> {
    const f = await this.waitFor((x) => x.type === FrameType.RST_STREAM && x.streamId === streamId, timeoutMs);
    return f.payload.readUInt32BE(0);
  }

  /** Resolves true once the server ended or closed the connection within `timeoutMs`, else false. */
  async closedByPeerWithin(timeoutMs: number): Promise<boolean> {
    const giveUpAt = Date.now() + timeoutMs;
    while (!this.ended && !this.isClosed) {
      const left = giveUpAt - Date.now();
      if (left <= 0) return false;
      await this.sleepUntilActivity(left);
    }
    return true;
  }

  /**
   * A unary call on `streamId` (odd, above any used before): request head plus `extra` fields, one
   * message, END_STREAM; resolves with the response's grpc-status (or undefined) and the RST_STREAM code
   * if the stream was reset instead.
   */
  async unary(streamId: number, path: string, message: Uint8Array, extra: Array<[string, string | Buffer]> = [], timeoutMs = 2000): Promise<{ status: string | undefined; rst: number | undefined; fields: Array<[string, Buffer]> }> {
    this.send(headersFrame(streamId, hpackBlock(grpcRequestHeaders(path, extra))), dataFrame(streamId, grpcMessage(message), true));
    const end = await this.waitFor(
      (f) => f.streamId === streamId && (f.type === FrameType.RST_STREAM || (f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0)),
      timeoutMs,
    );
    const fields = (this.headerBlocks.get(streamId) ?? []).flat();
    if (end.type === FrameType.RST_STREAM) return { status: undefined, rst: end.payload.readUInt32BE(0), fields };
    return { status: fields.find(([n]) => n === "grpc-status")?.[1].toString("latin1"), rst: undefined, fields };
  }

  /** Frames on `streamId` (HEADERS, DATA, RST_STREAM...). */
  framesOn(streamId: number): ReceivedFrame[] {
    return this.frames.filter((f) => f.streamId === streamId);
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 9) {
      const length = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 9 + length) break;
      const frame: ReceivedFrame = {
        type: this.buffer[3]!,
        flags: this.buffer[4]!,
        streamId: this.buffer.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buffer.subarray(9, 9 + length)),
      };
      this.frames.push(frame);
      if (frame.type === FrameType.HEADERS) {
        const list = this.headerBlocks.get(frame.streamId) ?? [];
        list.push(this.decoder.decode(headerBlockOf(frame)));
        this.headerBlocks.set(frame.streamId, list);
      }
      this.buffer = this.buffer.subarray(9 + length);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private sleepUntilActivity(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}

/** The header block fragment of a HEADERS frame, without padding and priority fields. */
function headerBlockOf(frame: ReceivedFrame): Buffer {
  let start = 0;
  let end = frame.payload.length;
  if (frame.flags & Flag.PADDED) {
    end -= frame.payload[0]!;
    start = 1;
  }
  if (frame.flags & Flag.PRIORITY) start += 5;
  return frame.payload.subarray(start, end);
}

/** Open file descriptors of this process (Linux): sockets the server holds show up here. */
export function openFdCount(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return -1;
  }
}
