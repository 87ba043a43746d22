import { Code } from "../core/code.js";
import type { Metadata } from "../core/metadata.js";
import type { MethodKind } from "../core/method.js";
import { RpcError } from "../core/rpc-error.js";
import type { Status } from "../core/status.js";
import type { MethodHandler } from "./method-handler.js";
import type { ServerContext } from "./server-context.js";

/**
 * Server interceptors: the same shape as on the client, `next => call => result`, for all four call
 * kinds (reference: `ServerInterceptor.intercept_service` with `HandlerCallDetails`). They run for every
 * call the router found a handler for, before that handler, first listed first. An interceptor can look
 * at the method and metadata and reject (throw an RpcError), change the requests or the responses on
 * their way, replace `handler` to hand the call to another one, or answer by itself without `next`.
 * See docs/interceptors.md.
 */

/** An incoming call as server interceptors see it. */
export interface ServerCallDetails<Req = unknown> {
  /** "/package.Service/Method" (`HandlerCallDetails.method`). */
  readonly method: string;
  /** The call kind: "unary", "server_streaming", "client_streaming" or "bidi_streaming". */
  readonly kind: MethodKind;
  /** Request metadata (`HandlerCallDetails.invocation_metadata`). */
  readonly metadata: Metadata;
  /** The client as "ipv4:host:port", "ipv6:[host]:port" or "unix:path". */
  readonly peer: string;
  /** The handler's context: deadline, signal, response headers and trailers, status, auth context. */
  readonly context: ServerContext;
  /**
   * The handler that will serve the call. Pass on another one (of the same kind) to hand the call to it:
   * requests are then decoded, and responses encoded, by that handler's codec.
   */
  readonly handler: MethodHandler;
  /**
   * The request messages. Unary and server-streaming calls: an iterable of the one request (which has
   * already arrived); streaming kinds: the client's stream, as it arrives.
   */
  readonly requests: AsyncIterable<Req> | Iterable<Req>;
  /** How the call ended (the status sent, or CANCELLED / DEADLINE_EXCEEDED); resolves once it has. */
  readonly status: Promise<Status>;
}

/** What a handler produced, as the chain passes it back: the response messages. */
export interface ServerCallResult<Res = unknown> {
  /** One response for unary and client-streaming calls; any number for the others. */
  readonly responses: AsyncIterable<Res> | Iterable<Res>;
}

/** The rest of the chain: the next interceptor, or finally the handler. */
export type ServerCallFn = (call: ServerCallDetails) => Promise<ServerCallResult>;

/**
 * A server interceptor. The outer function runs once, when the server is made; the inner one for every
 * call. Throwing (or rejecting) ends the call with that error's status (an RpcError keeps its code,
 * anything else is UNKNOWN), plus any trailers set on the context.
 */
export type ServerInterceptor = (next: ServerCallFn) => ServerCallFn;

/** Per call: the kind and the handler that finally serves it (its codec reads requests and writes responses). */
export interface InterceptedCallState {
  readonly kind: MethodKind;
  handler: MethodHandler;
}

/** Found through the call's context, which every interceptor passes on (spread or not). */
const states = new WeakMap<ServerContext, InterceptedCallState>();

export function trackCallState(context: ServerContext, state: InterceptedCallState): void {
  states.set(context, state);
}

/** The interceptors composed once around the handler; undefined when there are none (the direct path). */
export function composeServerInterceptors(interceptors: readonly ServerInterceptor[] | undefined): ServerCallFn | undefined {
  if (interceptors === undefined || interceptors.length === 0) return undefined;
  for (const [index, interceptor] of interceptors.entries()) {
    if (typeof interceptor !== "function") {
      throw new TypeError(`server interceptor ${index} is not a function: a server interceptor is (next) => (call) => Promise<result>`);
    }
  }
  let call: ServerCallFn = callHandler;
  for (let i = interceptors.length - 1; i >= 0; i--) call = interceptors[i]!(call);
  return call;
}

/** The end of the chain: runs `call.handler` over `call.requests`. */
async function callHandler(call: ServerCallDetails): Promise<ServerCallResult> {
  const state = states.get(call.context);
  if (state === undefined) throw new RpcError(Code.INTERNAL, "a server interceptor passed on a call without its context");
  const handler = call.handler;
  if (handler.kind !== state.kind) {
    throw new RpcError(Code.INTERNAL, `${call.method}: a ${state.kind} call cannot be handed to a ${handler.kind} handler`);
  }
  state.handler = handler;
  const context = call.context;
  // A unary or client-streaming handler that returned nothing has no response to pass back (see
  // UnaryHandler): the interceptors see none, and the call ends with its status or INTERNAL.
  switch (handler.kind) {
    case "unary":
      return { responses: oneOrNone(await handler.handler(await onlyRequest(call), context)) };
    case "server_streaming":
      return { responses: (await handler.handler(await onlyRequest(call), context)) ?? [] };
    case "client_streaming":
      return { responses: oneOrNone(await handler.handler(asAsync(call.requests), context)) };
    case "bidi_streaming":
      return { responses: (await handler.handler(asAsync(call.requests), context)) ?? [] };
  }
}

function oneOrNone(response: unknown): unknown[] {
  return response === undefined ? [] : [response];
}

async function onlyRequest(call: ServerCallDetails): Promise<unknown> {
  for await (const request of call.requests) return request;
  throw new RpcError(Code.INTERNAL, `${call.method}: no request message reached the handler`);
}

function asAsync<T>(messages: AsyncIterable<T> | Iterable<T>): AsyncIterable<T> {
  if (Symbol.asyncIterator in messages) return messages;
  return {
    async *[Symbol.asyncIterator]() {
      yield* messages;
    },
  };
}
