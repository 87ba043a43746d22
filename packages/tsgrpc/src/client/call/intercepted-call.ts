import { Code } from "../../core/code.js";
import { resolveDeadline } from "../../core/deadline.js";
import { Metadata } from "../../core/metadata.js";
import { serverStreams, type MethodKind } from "../../core/method.js";
import { RpcError } from "../../core/rpc-error.js";
import { errorFromStatus, statusFromError, type Status } from "../../core/status.js";
import type { ChannelCore } from "../internal/channel-core.js";
import type { ClientCallDetails, ClientCallFn, ClientCallResult, InterceptorChain } from "../interceptor.js";
import { CallInfoSource, type CallInfo } from "./call-info.js";
import { pumpRequests, sendAll, type RequestStream } from "./call-messages.js";
import type { CallOptions } from "./call-options.js";
import type { CallableMethod, StreamingCall, UnaryCall } from "./calls.js";
import { ResponseStream } from "./response-shapes.js";
import { startNetworkCall } from "./network-call.js";

/**
 * Calls through interceptors. Two halves: the end of every chain (`terminalCall`: the same network call
 * a plain call starts, network-call.ts, seen as a ClientCallResult) and the start of it
 * (`interceptedCall`: the four call kinds' public shapes, UnaryCall and StreamingCall, as views over
 * whatever the chain answers).
 */

/** The end of every chain: the call on the network. */
export function terminalCall(core: ChannelCore): ClientCallFn {
  return (details) => {
    try {
      const responses = new ResponseStream<unknown>();
      const call = startNetworkCall(core, details.method, details.kind, details.deserializeResponse, {
        deadline: details.deadline,
        metadata: details.metadata,
        signal: details.signal,
        waitForReady: details.waitForReady,
        compression: details.compression,
        credentials: details.credentials,
      }, responses);
      responses.attach(call);
      const requests = details.requests;
      if (Array.isArray(requests)) sendAll(call, details.serializeRequest, requests as readonly unknown[]);
      else void pumpRequests(call, details.serializeRequest, requests);
      const result: ClientCallResult = { headers: responses.source.headers, responses: responses.queue, status: responses.source.status };
      return Promise.resolve(result);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** One call of any kind through `chain`, in the public shape of its kind. */
export function interceptedCall<Req, Res>(
  chain: InterceptorChain,
  kind: MethodKind,
  method: CallableMethod<Req, Res>,
  requests: RequestStream<Req>,
  options: CallOptions,
): UnaryCall<Res> | StreamingCall<Res> {
  const call = new InterceptedCall<Res>(chain, kind, method as CallableMethod<unknown, Res>, requests, options);
  return serverStreams(kind) ? call.streaming() : call.unary();
}

const CANCELLED_BY_CALLER = (): RpcError => new RpcError(Code.CANCELLED, "call cancelled by the caller");
const STOPPED_READING = (): RpcError => new RpcError(Code.CANCELLED, "the caller stopped reading responses");
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };


/**
 * The caller's side of an intercepted call. Its own AbortController is the call's `signal` down the
 * chain: cancelling (or the caller's signal) aborts it, and so does a failure noticed here, so that
 * whatever runs below stops. Status and outcome are settled once, by whichever comes first: the chain's
 * status, an error from the chain or its response stream, or the abort.
 */
class InterceptedCall<Res> {
  private readonly controller = new AbortController();
  private readonly source = new CallInfoSource();
  private readonly result: Promise<ClientCallResult>;
  private outcome: { status: Status; error: RpcError | undefined } | undefined;
  private onSettled: ((status: Status, error: RpcError | undefined) => void) | undefined;
  private unlinkSignal: (() => void) | undefined;
  /** Rejects the wait in progress (raceAbort) when the call is aborted. */
  private wakeOnAbort: ((reason: RpcError) => void) | undefined;

  constructor(
    chain: InterceptorChain,
    kind: MethodKind,
    private readonly method: CallableMethod<unknown, Res>,
    requests: RequestStream<unknown>,
    options: CallOptions,
  ) {
    // Bad options throw here, synchronously, as they do on the direct path.
    const deadline = resolveDeadline(options);
    const signal = this.controller.signal;
    signal.addEventListener("abort", () => {
      const reason = asRpcError(signal.reason);
      this.fail(reason);
      this.wakeOnAbort?.(reason);
    }, { once: true });
    const callerSignal = options.signal;
    if (callerSignal) {
      if (callerSignal.aborted) this.controller.abort(CANCELLED_BY_CALLER());
      else {
        const onAbort = (): void => this.controller.abort(CANCELLED_BY_CALLER());
        callerSignal.addEventListener("abort", onAbort, { once: true });
        this.unlinkSignal = () => callerSignal.removeEventListener("abort", onAbort);
      }
    }
    const details: ClientCallDetails = {
      method: method.path,
      kind,
      requests,
      metadata: options.metadata === undefined ? new Metadata() : new Metadata(options.metadata),
      deadline,
      waitForReady: options.waitForReady ?? false,
      compression: options.compression,
      credentials: options.credentials,
      signal,
      serializeRequest: method.serializeRequest,
      deserializeResponse: method.deserializeResponse,
    };
    let result: Promise<ClientCallResult>;
    try {
      result = chain.call(details);
    } catch (err) {
      result = Promise.reject(err);
    }
    this.result = result;
    result.then(
      (r) => void r.headers.then((metadata) => this.source.gotHeaders(metadata)),
      (err: unknown) => this.fail(RpcError.from(err, Code.UNKNOWN)),
    );
  }

  unary(): UnaryCall<Res> {
    let resolve!: (value: Res) => void;
    let reject!: (error: RpcError) => void;
    const response = new Promise<Res>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // As on the direct path: a caller watching only `status` must not get an unhandled rejection.
    response.catch(() => undefined);
    let value: Res | undefined;
    const settle = (status: Status, error: RpcError | undefined): void => {
      if (status.code === Code.OK) resolve(value as Res);
      else reject(error ?? errorFromStatus(status));
    };
    // Already settled when the caller's signal was aborted before the call began.
    if (this.outcome) settle(this.outcome.status, this.outcome.error);
    else this.onSettled = settle;
    void this.consumeSingle((v) => (value = v));
    return Object.assign(response, this.info());
  }

  streaming(): StreamingCall<Res> {
    this.result.then((r) => r.status.then((status) => this.settle(status, undefined)), () => undefined);
    let iterated = false;
    return {
      [Symbol.asyncIterator]: () => {
        if (iterated) throw new Error("this message stream can be iterated only once");
        iterated = true;
        return this.iterate();
      },
      ...this.info(),
    };
  }

  private info(): CallInfo {
    return this.source.info(() => this.controller.abort(CANCELLED_BY_CALLER()));
  }

  /** Unary and client-streaming: exactly one response, then the status decides. */
  private async consumeSingle(keep: (value: Res) => void): Promise<void> {
    let iterator: AsyncIterator<unknown> | undefined;
    try {
      const result = await this.raceAbort(this.result);
      iterator = result.responses[Symbol.asyncIterator]();
      let count = 0;
      for (;;) {
        const next = await this.raceAbort(iterator.next());
        if (next.done) break;
        if (++count > 1) throw new RpcError(Code.UNIMPLEMENTED, `${this.method.path} sent more than one response message`);
        keep(next.value as Res);
      }
      iterator = undefined;
      const status = await this.raceAbort(result.status);
      if (status.code !== Code.OK) this.settle(status, undefined);
      else if (count === 0) this.fail(new RpcError(Code.UNIMPLEMENTED, `${this.method.path} ended OK without a response message`, status.metadata));
      else this.settle(status, undefined);
    } catch (err) {
      this.failBelow(RpcError.from(err, Code.UNKNOWN), iterator);
    }
  }

  /** Server-streaming and bidi: the chain's responses, passed through as the caller reads. */
  private iterate(): AsyncIterator<Res> {
    let inner: AsyncIterator<unknown> | undefined;
    let done = false;
    return {
      next: async (): Promise<IteratorResult<Res>> => {
        if (done) return DONE;
        try {
          inner ??= (await this.raceAbort(this.result)).responses[Symbol.asyncIterator]();
          const next = await this.raceAbort(inner.next());
          if (next.done) done = true;
          return next as IteratorResult<Res>;
        } catch (err) {
          done = true;
          const error = RpcError.from(err, Code.UNKNOWN);
          this.failBelow(error, inner);
          throw error;
        }
      },
      return: async (): Promise<IteratorResult<Res>> => {
        if (!done) {
          done = true;
          this.controller.abort(STOPPED_READING());
          if (inner?.return) inner.return().catch(() => undefined);
        }
        return DONE;
      },
    };
  }

  /** A failure seen here: settle with it, and stop the response stream and everything below. */
  private failBelow(error: RpcError, iterator: AsyncIterator<unknown> | undefined): void {
    this.fail(error);
    if (iterator?.return) Promise.resolve(iterator.return()).catch(() => undefined);
    this.controller.abort(error);
  }

  private fail(error: RpcError): void {
    this.settle(statusFromError(error), error);
  }

  private settle(status: Status, error: RpcError | undefined): void {
    if (this.outcome) return;
    this.outcome = { status, error };
    this.unlinkSignal?.();
    this.source.gotStatus(status);
    this.onSettled?.(status, error);
  }

  /**
   * `promise`, or the abort reason as soon as the call is aborted (a stuck interceptor cannot hold the
   * caller). One wait at a time: the caller reads responses one after the other.
   */
  private raceAbort<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    if (signal.aborted) {
      promise.catch(() => undefined);
      return Promise.reject(asRpcError(signal.reason));
    }
    return new Promise<T>((resolve, reject) => {
      this.wakeOnAbort = reject;
      promise.then(
        (value) => {
          this.wakeOnAbort = undefined;
          resolve(value);
        },
        (err: unknown) => {
          this.wakeOnAbort = undefined;
          reject(err);
        },
      );
    });
  }
}

function asRpcError(reason: unknown): RpcError {
  return reason instanceof RpcError ? reason : CANCELLED_BY_CALLER();
}
