import { Code } from "../../core/code.js";
import type { Serializer } from "../../core/method.js";
import { RpcError } from "../../core/rpc-error.js";
import type { ClientCall } from "../pipeline/client-call.js";

/**
 * Requests → payloads for the call adapters, with and without interceptors: serializing requests onto a
 * ClientCall and pumping a request stream with flow control (responses are parsed in network-call.ts).
 * A request that cannot be serialized cancels the call with INTERNAL.
 */

/** Requests of a client-streaming or bidi call: any iterable, e.g. an async generator or a Pushable. */
export type RequestStream<Req> = AsyncIterable<Req> | Iterable<Req>;

/** Requests marked by `sendUncompressed`. */
const uncompressedRequests = new WeakSet<object>();

/**
 * Marks one request of a client-streaming or bidi call to go out uncompressed (compressed flag 0) even
 * when the call compresses (reference: C++ `WriteOptions::set_no_compression`). Returns `request`.
 */
export function sendUncompressed<Req extends object>(request: Req): Req {
  uncompressedRequests.add(request);
  return request;
}

/** Writes requests as the transport takes them (awaiting flow control), then half-closes. */
export async function pumpRequests<Req>(call: ClientCall, serializeRequest: Serializer<Req>, requests: RequestStream<Req>): Promise<void> {
  try {
    for await (const request of requests) {
      if (call.isFinished) return;
      const payload = serialize(serializeRequest, request, call);
      if (!payload) return;
      const writable = call.sendMessage(payload, !uncompressedRequests.has(request as object));
      if (writable) await writable;
    }
    call.halfClose();
  } catch (err) {
    call.cancel(new RpcError(Code.CANCELLED, `the request stream failed: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err }));
  }
}

/** Writes the requests of an array at once (no flow-control waits: they are all in memory), then half-closes. */
export function sendAll<Req>(call: ClientCall, serializeRequest: Serializer<Req>, requests: readonly Req[]): void {
  for (const request of requests) {
    const payload = serialize(serializeRequest, request, call);
    if (!payload) return;
    call.sendMessage(payload, !uncompressedRequests.has(request as object));
  }
  call.halfClose();
}

export function serialize<Req>(serializeRequest: Serializer<Req>, request: Req, call: ClientCall): Uint8Array | undefined {
  try {
    return serializeRequest(request);
  } catch (err) {
    call.cancel(new RpcError(Code.INTERNAL, `could not serialize the request: ${(err as Error).message}`));
    return undefined;
  }
}
