import { Code } from "../core/code.js";
import { clientStreams } from "../core/method.js";
import { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { Status } from "../core/status.js";
import type { CallContext } from "./server-context.js";
import type { MethodHandler } from "./method-handler.js";
import type { ServerCall } from "./server-call.js";

/**
 * Runs one handler over a ServerCall and ends the call with the outcome. Every kind goes through the
 * same steps: read request(s), run, send response(s), finish; only the shape of each step differs.
 */
export async function runHandler(call: ServerCall, method: MethodHandler, context: CallContext): Promise<void> {
  try {
    let request: unknown;
    if (clientStreams(method.kind)) {
      request = decodeStream(call, method, context);
    } else {
      // readOne's steps inline: one async frame fewer per call on the most common path.
      const payload = await call.readSingleRequest();
      context.requestCompressed = call.wasCompressed(payload);
      request = decodeOne(method, payload);
    }
    switch (method.kind) {
      case "unary":
      case "client_streaming": {
        // Awaiting only what is a promise: an await on a plain value still allocates, on every call.
        let response = method.handler(request as never, context);
        if (isThenable(response)) response = await response;
        if (call.isFinished) return;
        // A handler that set a failure status sends no message, whatever it returned; one that returned
        // nothing without a failure status is a bug in it, reported as such (never an empty message).
        if (!isFailureSet(context)) {
          if (response === undefined) throw noResponse(call.path);
          const flushed = call.sendMessage(encode(method, response), context.takeCompressNext());
          if (flushed) await flushed;
        }
        break;
      }
      case "server_streaming":
      case "bidi_streaming": {
        const responses = await method.handler(request as never, context);
        if (responses) await sendAll(call, method, responses, context);
        break;
      }
    }
    if (!call.isFinished) call.finish(statusOnReturn(context));
  } catch (err) {
    if (!call.isFinished) call.finish(statusOnThrow(err, context));
  }
}

export async function readOne(call: ServerCall, context: CallContext): Promise<Uint8Array> {
  const payload = await call.readSingleRequest();
  context.requestCompressed = call.wasCompressed(payload);
  return payload;
}

function decodeOne(method: MethodHandler, payload: Uint8Array): unknown {
  try {
    return method.deserializeRequest(payload);
  } catch (err) {
    throw new RpcError(Code.INTERNAL, `could not parse request: ${(err as Error).message}`);
  }
}

/** The queue is taken at once so no request is missed while the handler has not started reading. */
function decodeStream(call: ServerCall, method: MethodHandler, context: CallContext): AsyncGenerator<unknown> {
  return decodeEach(call, method, context, call.readRequestStream());
}

async function* decodeEach(
  call: ServerCall,
  method: MethodHandler,
  context: CallContext,
  payloads: AsyncIterable<Uint8Array>,
): AsyncGenerator<unknown> {
  for await (const payload of payloads) {
    let message: unknown;
    try {
      message = method.deserializeRequest(payload);
    } catch (err) {
      const error = new RpcError(Code.INTERNAL, `could not parse request: ${(err as Error).message}`);
      call.finish({ code: error.code, details: error.details, metadata: new Metadata() });
      throw error;
    }
    context.requestCompressed = call.wasCompressed(payload);
    yield message;
  }
}

export async function sendAll(
  call: ServerCall,
  method: MethodHandler,
  responses: AsyncIterable<unknown> | Iterable<unknown>,
  context: CallContext,
): Promise<void> {
  for await (const response of responses) {
    if (call.isFinished) return; // leaving the loop runs the generator's finally blocks
    const flushed = call.sendMessage(encode(method, response), context.takeCompressNext());
    if (flushed) await flushed;
    // A call that ended while we waited for the peer (deadline, cancel) must not pull another response.
    if (call.isFinished) return;
  }
}

export function encode(method: MethodHandler, response: unknown): Uint8Array {
  try {
    return method.serializeResponse(response);
  } catch (err) {
    throw new RpcError(Code.INTERNAL, `could not serialize response: ${(err as Error).message}`);
  }
}

/**
 * A unary or client-streaming handler that resolved with no response (undefined) and set no failure
 * status: INTERNAL, naming the method, rather than an empty message that would hide the bug.
 */
export function noResponse(path: string, detail = ""): RpcError {
  return new RpcError(Code.INTERNAL, `handler for ${path} returned no response${detail}`);
}

export function isFailureSet(context: CallContext): boolean {
  return context.status !== undefined && context.status.code !== Code.OK;
}

/** The status of a handler that returned without setting anything: shared, never modified. */
const PLAIN_OK: Status = Object.freeze({ code: Code.OK, details: "", metadata: new Metadata() });

export function statusOnReturn(context: CallContext): Status {
  if (context.status === undefined && context.trailers === undefined) return PLAIN_OK;
  return {
    code: context.status?.code ?? Code.OK,
    details: context.status?.details ?? "",
    metadata: context.trailers ?? new Metadata(),
  };
}

/** An RpcError keeps its status (plus trailers set on the context); anything else is UNKNOWN. */
export function statusOnThrow(err: unknown, context: CallContext): Status {
  const error = RpcError.from(err, Code.UNKNOWN);
  const metadata = context.trailers?.clone() ?? new Metadata();
  metadata.merge(error.metadata);
  return { code: error.code === Code.OK ? Code.UNKNOWN : error.code, details: error.details, metadata };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}
