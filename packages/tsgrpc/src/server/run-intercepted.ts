import { Code } from "../core/code.js";
import { Metadata } from "../core/metadata.js";
import { clientStreams, serverStreams } from "../core/method.js";
import { RpcError } from "../core/rpc-error.js";
import type { Status } from "../core/status.js";
import type { MessageQueue } from "../internal/message-queue.js";
import type { MethodHandler } from "./method-handler.js";
import { encode, isFailureSet, noResponse, readOne, sendAll, statusOnReturn, statusOnThrow } from "./run-handler.js";
import type { ServerCall } from "./server-call.js";
import type { CallContext } from "./server-context.js";
import { trackCallState, type InterceptedCallState, type ServerCallDetails, type ServerCallFn, type ServerCallResult } from "./server-interceptor.js";

/**
 * runHandler's counterpart for a server with interceptors: the same steps (read, run, send, finish),
 * with the chain in the middle. Requests are decoded, and responses encoded, with the codec of the
 * handler that finally serves the call (an interceptor may hand it to another).
 */
export async function runIntercepted(call: ServerCall, handler: MethodHandler, context: CallContext, chain: ServerCallFn): Promise<void> {
  const state: InterceptedCallState = { kind: handler.kind, handler };
  trackCallState(context, state);
  try {
    // The request stream is taken at once so no request is missed while interceptors run.
    const requests = clientStreams(handler.kind)
      ? decodeStream(call, state, context, call.readRequestStream())
      : decodeOne(state, await readOne(call, context));
    const details: ServerCallDetails = {
      method: call.path,
      kind: handler.kind,
      metadata: call.metadata,
      peer: call.peer,
      context,
      handler,
      requests,
      // A copy: the call's own status may be a shared object (see statusOnReturn).
      status: new Promise<Status>((resolve) => call.addEndCallback(() => resolve(copyStatus(call.endStatus ?? UNKNOWN_END)))),
    };
    const result = await chain(details);
    if (call.isFinished) return;
    await sendResponses(call, state, result, context);
    if (!call.isFinished) call.finish(statusOnReturn(context));
  } catch (err) {
    if (!call.isFinished) call.finish(statusOnThrow(err, context));
  }
}

const UNKNOWN_END: Status = { code: Code.UNKNOWN, details: "the call ended without a status", metadata: new Metadata() };

/** The one request of a unary or server-streaming call, decoded when read (so by the final handler). */
function decodeOne(state: InterceptedCallState, payload: Uint8Array): Iterable<unknown> {
  return {
    *[Symbol.iterator]() {
      yield parse(state.handler, payload);
    },
  };
}

async function* decodeStream(
  call: ServerCall,
  state: InterceptedCallState,
  context: CallContext,
  payloads: MessageQueue<Uint8Array>,
): AsyncGenerator<unknown> {
  for await (const payload of payloads) {
    let message: unknown;
    try {
      message = parse(state.handler, payload);
    } catch (err) {
      call.finish({ code: (err as RpcError).code, details: (err as RpcError).details, metadata: new Metadata() });
      throw err;
    }
    context.requestCompressed = call.wasCompressed(payload);
    yield message;
  }
}

function parse(handler: MethodHandler, payload: Uint8Array): unknown {
  try {
    return handler.deserializeRequest(payload);
  } catch (err) {
    throw new RpcError(Code.INTERNAL, `could not parse request: ${(err as Error).message}`);
  }
}

async function sendResponses(call: ServerCall, state: InterceptedCallState, result: ServerCallResult, context: CallContext): Promise<void> {
  if (serverStreams(state.kind)) {
    await sendAll(call, state.handler, result.responses, context);
    return;
  }
  let count = 0;
  let response: unknown;
  for await (const r of result.responses) {
    if (++count > 1) break;
    response = r;
  }
  if (call.isFinished || isFailureSet(context)) return;
  if (count === 0) throw noResponse(call.path, " (or an interceptor dropped it)");
  if (count > 1) throw new RpcError(Code.INTERNAL, `${call.path}: more than one response for a ${state.kind} method`);
  await call.sendMessage(encode(state.handler, response), context.takeCompressNext());
}

function copyStatus(status: Status): Status {
  return { code: status.code, details: status.details, metadata: status.metadata.clone() };
}
