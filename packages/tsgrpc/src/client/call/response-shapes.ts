import { Code } from "../../core/code.js";
import type { Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import { errorFromStatus, type Status } from "../../core/status.js";
import { MessageQueue } from "../../internal/message-queue.js";
import type { ClientCall } from "../pipeline/client-call.js";
import { CallInfoSource } from "./call-info.js";
import type { StreamingCall, UnaryCall } from "./calls.js";
import type { ResponseSink } from "./network-call.js";

/** The two response shapes over a network call: one response (a promise), or a stream (an async iterable). */

/** Unary and client-streaming: a promise of the one response. */
export class SingleResponse<Res> implements ResponseSink<Res> {
  private readonly source = new CallInfoSource();
  private readonly promise: Promise<Res>;
  private resolve!: (value: Res) => void;
  private reject!: (error: RpcError) => void;
  private value: Res | undefined;

  constructor() {
    this.promise = new Promise<Res>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A caller may watch only `status` (which never rejects): a failed call must not then crash the
    // process as an unhandled rejection. Awaiting the call itself still rejects.
    this.promise.catch(noop);
  }

  shape(call: ClientCall): UnaryCall<Res> {
    return Object.assign(this.promise, this.source.info(() => call.cancel()));
  }

  onHeaders(metadata: Metadata): void {
    this.source.gotHeaders(metadata);
  }

  onResponse(message: Res): void {
    this.value = message;
  }

  onStatus(status: Status): void {
    this.source.gotStatus(status);
    if (status.code !== Code.OK) this.reject(errorFromStatus(status));
    else this.resolve(this.value as Res);
  }
}

const RESPONSE_HIGH_WATER_MARK = 16;

/** Server-streaming and bidi: an async iterable of the responses, with flow control. */
export class ResponseStream<Res> implements ResponseSink<Res> {
  readonly source = new CallInfoSource();
  private call: ClientCall | undefined;
  // The queue pauses the HTTP/2 stream when the consumer falls behind, and cancels the call if the
  // consumer stops iterating early.
  readonly queue: MessageQueue<Res> = new MessageQueue<Res>(
    RESPONSE_HIGH_WATER_MARK,
    (pause) => (pause ? this.call?.pause() : this.call?.resume()),
    () => this.call?.cancel(new RpcError(Code.CANCELLED, "the caller stopped reading responses")),
  );

  /** The call whose responses these are (set before any arrives). */
  attach(call: ClientCall): void {
    this.call = call;
  }

  shape(call: ClientCall): StreamingCall<Res> {
    this.call = call;
    const queue = this.queue;
    return {
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
      ...this.source.info(() => call.cancel()),
    };
  }

  onHeaders(metadata: Metadata): void {
    this.source.gotHeaders(metadata);
  }

  onResponse(message: Res): void {
    this.queue.push(message);
  }

  onStatus(status: Status): void {
    this.source.gotStatus(status);
    if (status.code === Code.OK) this.queue.end();
    else this.queue.fail(errorFromStatus(status));
  }
}

function noop(): void {}
