import type { Deadline } from "../core/deadline.js";
import { Metadata, type MetadataInit } from "../core/metadata.js";
import type { Deserializer, MethodKind, Serializer } from "../core/method.js";
import type { CompressionName } from "../protocol/compression.js";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { okStatus, statusFromError, type Status } from "../core/status.js";
import type { CallCredentials } from "./call-credentials.js";
import type { Channel } from "./channel.js";
import { terminalCall } from "./call/intercepted-call.js";
import type { ChannelCore } from "./internal/channel-core.js";
import { channelEntry, registerChannel } from "./internal/channel-registry.js";

/**
 * Client interceptors: one function shape for all four call kinds, `next => call => result`
 * (reference: the four `*ClientInterceptor` classes, applied with `intercept_channel`).
 *
 * Every call, whatever its kind, is seen as a stream of requests going out and a stream of responses
 * coming back; `call.kind` tells which kind it is (and so how many of each to expect). An interceptor
 * can change the call before passing it on (`next({ ...call, method: … })`), change the result on its
 * way back, call `next` several times (retry), or not call it at all and answer by itself (`respond(…)`,
 * or throw an RpcError). See docs/interceptors.md.
 */

/** An outgoing call as interceptors see it (reference: `ClientCallDetails`, plus the request messages). */
export interface ClientCallDetails<Req = unknown, Res = unknown> {
  /** "/package.Service/Method". Another path sends the call to that method (same message types). */
  readonly method: string;
  /** The call kind: "unary", "server_streaming", "client_streaming" or "bidi_streaming". */
  readonly kind: MethodKind;
  /**
   * The request messages. For unary and server-streaming calls this is an array of the one request
   * (so a retry can send it again); for the streaming kinds, the caller's iterable.
   */
  readonly requests: AsyncIterable<Req> | Iterable<Req>;
  /** Request metadata: a copy made for this call, so changing it affects only this call. */
  readonly metadata: Metadata;
  /** Absolute deadline in ms since the epoch (Infinity: none). A timeout: `Date.now() + ms`. */
  readonly deadline: Deadline;
  readonly waitForReady: boolean;
  /** Request compression ("gzip", "deflate", "identity"); undefined takes the channel's. */
  readonly compression: CompressionName | undefined;
  /** Call credentials (after the channel's own); undefined: none for this call. */
  readonly credentials: CallCredentials | undefined;
  /** Aborts when the caller cancels the call (or stops reading its responses). */
  readonly signal: AbortSignal;
  readonly serializeRequest: Serializer<Req>;
  readonly deserializeResponse: Deserializer<Res>;
}

/** What comes back from a call, whatever its kind. */
export interface ClientCallResult<Res = unknown> {
  /** Initial metadata from the server (empty when it answered Trailers-Only). Never rejects. */
  readonly headers: Promise<Metadata>;
  /**
   * The response messages, in order: one for unary and client-streaming calls. Ends after the last one
   * when the call succeeded, throws the call's RpcError when it failed. Iterate it once.
   */
  readonly responses: AsyncIterable<Res>;
  /** How the call ended (code, details, trailing metadata). Never rejects. */
  readonly status: Promise<Status>;
}

/** The rest of the chain: the next interceptor, or finally the network. */
export type ClientCallFn = (call: ClientCallDetails) => Promise<ClientCallResult>;

/**
 * A client interceptor. The outer function runs once, when the intercepted channel is made; the inner
 * one runs for every call. Throwing (or rejecting) fails the call with that error: an RpcError keeps its
 * code, anything else becomes UNKNOWN.
 */
export type ClientInterceptor = (next: ClientCallFn) => ClientCallFn;

// ---- helpers for interceptor authors -----------------------------------------------------------------

/**
 * A result made without calling the server, for an interceptor that answers by itself (a cache, a
 * stub): `responses` in order, then status OK. With an array the status is known at once; with an async
 * iterable it comes when the iterable ends (or fails with its error).
 */
export function respond<Res>(
  responses: readonly Res[] | AsyncIterable<Res>,
  init: { headers?: MetadataInit; trailers?: MetadataInit } = {},
): ClientCallResult<Res> {
  const headers = Promise.resolve(new Metadata(init.headers));
  const trailers = (): Metadata => new Metadata(init.trailers);
  if (Array.isArray(responses)) {
    const list = responses as readonly Res[];
    return { headers, responses: toAsync(list), status: Promise.resolve(okStatus(trailers())) };
  }
  let resolveStatus!: (status: Status) => void;
  const status = new Promise<Status>((resolve) => (resolveStatus = resolve));
  const source = responses as AsyncIterable<Res>;
  async function* tracked(): AsyncGenerator<Res> {
    try {
      yield* source;
      resolveStatus(okStatus(trailers()));
    } catch (err) {
      resolveStatus(statusFromError(RpcError.from(err, Code.UNKNOWN)));
      throw err;
    } finally {
      // Settles nothing after an end or an error above (first one wins): only an early stop gets here first.
      resolveStatus({ code: Code.CANCELLED, details: "the caller stopped reading responses", metadata: new Metadata() });
    }
  }
  return { headers, responses: tracked(), status };
}

// ---- applying interceptors ---------------------------------------------------------------------------

/** The interceptors of an intercepted channel, composed once, and the real channel under them. */
export interface InterceptorChain {
  readonly core: ChannelCore;
  readonly interceptors: readonly ClientInterceptor[];
  readonly call: ClientCallFn;
}

/**
 * A channel whose calls go through `interceptors`, first listed first (reference: `intercept_channel`).
 * It shares the connections, state and `close()` of `channel`. Intercepting an intercepted channel puts
 * the new interceptors in front of the old ones.
 */
export function interceptChannel<C extends Channel>(channel: C, ...interceptors: ClientInterceptor[]): C {
  for (const [index, interceptor] of interceptors.entries()) {
    if (typeof interceptor !== "function") {
      throw new TypeError(`interceptor ${index} is not a function: a client interceptor is (next) => (call) => Promise<result>`);
    }
  }
  const entry = channelEntry(channel);
  if (interceptors.length === 0) return channel;
  const inner = entry.chain;
  const all = inner ? [...interceptors, ...inner.interceptors] : interceptors;
  let call: ClientCallFn = terminalCall(entry.core);
  for (let i = all.length - 1; i >= 0; i--) call = all[i]!(call);
  const chain: InterceptorChain = { core: entry.core, interceptors: all, call };
  const view = intercepted(channel, entry.core);
  registerChannel(view, { core: entry.core, chain });
  return view;
}

/**
 * The channel seen through a Proxy: everything (state, subscribe, close, and whatever the channel grows
 * later) is the real channel's own, with `this` bound to it. `real` is the channel itself (not an
 * intercepted view of it), so that views of views still reach it.
 */
function intercepted<C extends Channel>(view: C, real: ChannelCore): C {
  const target = real as unknown as C;
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(view, {
    get(_view, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      let fn = bound.get(property);
      if (fn === undefined) bound.set(property, (fn = (value as (...args: unknown[]) => unknown).bind(target)));
      return fn;
    },
  });
}

// ---- internals ---------------------------------------------------------------------------------------

function toAsync<T>(items: readonly T[]): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* items;
    },
  };
}
