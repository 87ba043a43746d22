import * as http2 from "node:http2";
import * as net from "node:net";

/**
 * A test-only gRPC client written straight on node:http2, so the server can be tested without the
 * tsgrpc client and with requests no real client would send: any headers, any DATA bytes, resets at any
 * moment. It decodes what comes back itself (length prefixes, status fields) rather than trusting the
 * library's protocol code, so a bug there cannot hide a bug in the server.
 */

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** One length-prefixed message as it came off the wire. */
export interface WireMessage {
  /** The compressed-flag byte (0 or 1; anything else is recorded as it was). */
  flag: number;
  payload: Buffer;
}

export interface RawResponse {
  /** The response head (for a Trailers-Only response it also holds the status fields). */
  headers: http2.IncomingHttpHeaders | undefined;
  /** `:status` of the head. */
  httpStatus: number | undefined;
  /** True when the head came with END_STREAM: a Trailers-Only response. */
  trailersOnly: boolean;
  trailers: http2.IncomingHttpHeaders | undefined;
  /** Raw trailer list [name, value, ...] (or the raw head for Trailers-Only), keeps repeated keys apart. */
  rawTrailers: string[];
  rawHeaders: string[];
  /** The DATA payload sizes as node delivered them (chunks, not necessarily single frames). */
  dataChunks: number[];
  /** Every complete message of the response body. */
  messages: WireMessage[];
  /** Bytes after the last complete message (non-empty means the body ended mid-message). */
  leftover: Buffer;
  /** grpc-status from the trailers, or from the head of a Trailers-Only response. */
  grpcStatus: number | undefined;
  /** grpc-message as sent (still percent-encoded). */
  grpcMessageRaw: string | undefined;
  /** grpc-message percent-decoded. */
  grpcMessage: string | undefined;
  /** RST_STREAM code when the stream closed (0 for a normal close). */
  rstCode: number | undefined;
  /** The stream ended without the server finishing it normally (node's 'aborted' or a stream error). */
  aborted: boolean;
  /** The stream error node reported, if any. */
  error: Error | undefined;
}

export interface StartOptions {
  /** Extra or replacing request headers; `undefined` removes a default header. */
  headers?: Record<string, string | string[] | number | undefined>;
  /** END_STREAM right after the head (no DATA at all). */
  endStream?: boolean;
}

/** One request stream: the test decides what goes out; `response` settles when the stream closes. */
export class RawCall {
  readonly response: Promise<RawResponse>;
  /** Resolves with the response head when it arrives (also for Trailers-Only); rejects if none came. */
  readonly headersReceived: Promise<http2.IncomingHttpHeaders>;
  /** Messages decoded so far (grows while the call runs). */
  readonly messages: WireMessage[] = [];
  private readonly result: RawResponse;
  private pending: Buffer = Buffer.alloc(0);
  private readonly messageWaiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(
    readonly stream: http2.ClientHttp2Stream,
    private readonly abort: () => void,
  ) {
    this.result = {
      headers: undefined,
      httpStatus: undefined,
      trailersOnly: false,
      trailers: undefined,
      rawTrailers: [],
      rawHeaders: [],
      dataChunks: [],
      messages: this.messages,
      leftover: Buffer.alloc(0),
      grpcStatus: undefined,
      grpcMessageRaw: undefined,
      grpcMessage: undefined,
      rstCode: undefined,
      aborted: false,
      error: undefined,
    };
    let gotHeaders!: (headers: http2.IncomingHttpHeaders) => void;
    let noHeaders!: (error: Error) => void;
    this.headersReceived = new Promise((resolve, reject) => {
      gotHeaders = resolve;
      noHeaders = reject;
    });
    this.headersReceived.catch(() => undefined); // only a test awaiting it should see the rejection
    stream.on("response", (headers, flags, rawHeaders: string[] = []) => {
      this.result.headers = headers;
      this.result.rawHeaders = rawHeaders;
      this.result.httpStatus = Number(headers[":status"]);
      if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
        this.result.trailersOnly = true;
        this.takeStatus(headers, rawHeaders);
      }
      gotHeaders(headers);
    });
    stream.on("trailers", (trailers, _flags, rawTrailers: string[] = []) => {
      this.result.trailers = trailers;
      this.takeStatus(trailers, rawTrailers);
    });
    stream.on("data", (chunk: Buffer) => {
      this.result.dataChunks.push(chunk.length);
      this.decode(chunk);
    });
    stream.on("aborted", () => (this.result.aborted = true));
    stream.on("error", (err: Error) => {
      this.result.error = err;
      this.result.aborted = true;
    });
    this.response = new Promise((resolve) => {
      stream.on("close", () => {
        this.result.rstCode = stream.rstCode;
        this.result.leftover = this.pending;
        if (!this.result.headers) noHeaders(new Error(`stream closed without a response head (RST_STREAM ${stream.rstCode})`));
        for (const w of this.messageWaiters.splice(0)) w.resolve();
        resolve(this.result);
      });
    });
  }

  /** Arbitrary DATA bytes (no framing). */
  write(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  /** One message with a 5-byte prefix; `flag` defaults to 0 (uncompressed). */
  send(payload: Uint8Array, flag = 0): void {
    this.write(frame(payload, flag));
  }

  /** END_STREAM (after `bytes`, if given). */
  end(bytes?: Uint8Array): void {
    if (bytes) this.stream.end(bytes);
    else this.stream.end();
  }

  /**
   * RST_STREAM(CANCEL) and nothing before it. node's own `close(code)` first half-closes a stream that is
   * still writable (END_STREAM goes out before the RST_STREAM), which a server rightly reads as "all
   * requests sent"; aborting the request's AbortSignal resets it without that.
   */
  cancel(): void {
    this.abort();
  }

  /** node's `stream.close(code)`: END_STREAM (if still writable), then RST_STREAM with `code`. */
  closeStream(code = NGHTTP2_CANCEL): void {
    this.stream.close(code);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Resolves once at least `count` messages arrived (or the stream closed). */
  waitForMessages(count: number): Promise<void> {
    if (this.messages.length >= count || this.stream.closed) return Promise.resolve();
    return new Promise((resolve) => this.messageWaiters.push({ count, resolve }));
  }

  private decode(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) break;
      this.messages.push({ flag: this.pending[0]!, payload: Buffer.from(this.pending.subarray(5, 5 + length)) });
      this.pending = this.pending.subarray(5 + length);
    }
    for (let i = this.messageWaiters.length - 1; i >= 0; i--) {
      const w = this.messageWaiters[i]!;
      if (this.messages.length >= w.count) {
        this.messageWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private takeStatus(fields: http2.IncomingHttpHeaders, raw: string[]): void {
    this.result.rawTrailers = raw;
    const status = fields["grpc-status"];
    if (status !== undefined) this.result.grpcStatus = Number(status);
    const message = fields["grpc-message"];
    if (typeof message === "string") {
      this.result.grpcMessageRaw = message;
      this.result.grpcMessage = percentDecode(message);
    }
  }
}

export interface ClientOptions {
  /** Our SETTINGS_INITIAL_WINDOW_SIZE (default node's 65535). */
  initialWindowSize?: number;
}

export class RawHttp2Client {
  /** GOAWAY frames received: [errorCode, lastStreamId]. */
  readonly goaways: Array<{ code: number; lastStreamId: number }> = [];
  private closing: Promise<void> | undefined;

  private constructor(
    readonly session: http2.ClientHttp2Session,
    readonly authority: string,
  ) {
    session.on("goaway", (code: number, lastStreamId: number) => this.goaways.push({ code, lastStreamId }));
    // Errors show up on the streams and in `closed`; an unhandled session error must not crash the test.
    session.on("error", () => undefined);
  }

  /** Connects with HTTP/2 prior knowledge (h2c) and resolves once the connection is up. */
  static connect(port: number, host = "127.0.0.1", options: ClientOptions = {}): Promise<RawHttp2Client> {
    const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return RawHttp2Client.open(authority, options);
  }

  /** Connects over a unix domain socket. */
  static connectUnix(path: string, options: ClientOptions = {}): Promise<RawHttp2Client> {
    return RawHttp2Client.open("localhost", { ...options, createConnection: () => net.connect(path) });
  }

  private static open(
    authority: string,
    options: ClientOptions & { createConnection?: () => net.Socket },
  ): Promise<RawHttp2Client> {
    return new Promise((resolve, reject) => {
      const settings = options.initialWindowSize === undefined ? {} : { initialWindowSize: options.initialWindowSize };
      const session = http2.connect(`http://${authority}`, { settings, createConnection: options.createConnection });
      const onError = (err: Error): void => {
        session.destroy();
        reject(err);
      };
      session.once("error", onError);
      session.once("connect", () => {
        session.off("error", onError);
        resolve(new RawHttp2Client(session, authority));
      });
    });
  }

  get closed(): boolean {
    return this.session.closed || this.session.destroyed;
  }

  /** Opens a request stream with gRPC's headers (overridable); nothing is sent on it yet. */
  start(path: string, options: StartOptions = {}): RawCall {
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":scheme": "http",
      ":path": path,
      ":authority": this.authority,
      "content-type": "application/grpc",
      te: "trailers",
    };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    const controller = new AbortController();
    const stream = this.session.request(headers, { endStream: options.endStream ?? false, signal: controller.signal });
    return new RawCall(stream, () => controller.abort());
  }

  /** Sends `messages` framed (or `body` verbatim), half-closes, and waits for the whole response. */
  call(path: string, request: { messages?: Uint8Array[]; body?: Uint8Array } & StartOptions = {}): Promise<RawResponse> {
    const call = this.start(path, request);
    for (const message of request.messages ?? []) call.send(message);
    if (request.body) call.write(request.body);
    if (!request.endStream) call.end();
    return call.response;
  }

  /** Closes the session and waits until its socket is gone; destroys it if that takes too long. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (this.session.destroyed) return resolve();
      const timer = setTimeout(() => this.session.destroy(), 2000);
      this.session.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.session.close();
    });
    return this.closing;
  }

  /** Tears the connection down at once (open streams are lost, as on a network failure). */
  destroy(): Promise<void> {
    return new Promise((resolve) => {
      if (this.session.destroyed) return resolve();
      this.session.once("close", () => resolve());
      this.session.destroy();
    });
  }
}

/** The 5-byte gRPC prefix plus `payload`; `flag` is the compressed-flag byte, or a bad one for tests. */
export function frame(payload: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** grpc-message decoding (percent-encoded UTF-8), independent of the library's own. */
export function percentDecode(text: string): string {
  return Buffer.from(
    text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");
}

/** Values of `name` in a raw header list, in order. */
export function rawValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === name) out.push(raw[i + 1]!);
  return out;
}
