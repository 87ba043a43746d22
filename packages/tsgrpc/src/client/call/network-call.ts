import { Code } from "../../core/code.js";
import type { Metadata } from "../../core/metadata.js";
import type { Deserializer, MethodKind } from "../../core/method.js";
import { serverStreams } from "../../core/method.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Status } from "../../core/status.js";
import type { ChannelCore } from "../internal/channel-core.js";
import { ClientCall, type CallListener, type ClientCallOptions } from "../pipeline/client-call.js";

/** Where the responses of a call go, as messages: the call adapters and the end of the interceptor chain. */
export interface ResponseSink<Res> {
  onHeaders(metadata: Metadata): void;
  onResponse(message: Res): void;
  onStatus(status: Status): void;
}

/**
 * The one place every call, plain or intercepted, reaches the pipeline: it starts a ClientCall and turns
 * its payloads into messages, enforcing the response cardinality of the call kind (a second response of
 * a unary call, or none at all, is UNIMPLEMENTED) and failing the call INTERNAL on a response that
 * cannot be parsed.
 */
export class NetworkCall<Res> implements CallListener {
  readonly call: ClientCall;
  private readonly singleResponse: boolean;
  private count = 0;

  constructor(
    core: ChannelCore,
    private readonly path: string,
    kind: MethodKind,
    private readonly deserializeResponse: Deserializer<Res>,
    options: ClientCallOptions,
    private readonly sink: ResponseSink<Res>,
  ) {
    this.singleResponse = !serverStreams(kind);
    this.call = new ClientCall(core, path, options, this);
  }

  onHeaders(metadata: Metadata): void {
    this.sink.onHeaders(metadata);
  }

  onMessage(payload: Uint8Array): void {
    if (this.singleResponse && ++this.count > 1) {
      this.call.cancel(new RpcError(Code.UNIMPLEMENTED, `${this.path} sent more than one response message`));
      return;
    }
    let message: Res;
    try {
      message = this.deserializeResponse(payload);
    } catch (err) {
      this.call.cancel(new RpcError(Code.INTERNAL, `could not parse the response: ${(err as Error).message}`));
      return;
    }
    this.sink.onResponse(message);
  }

  onStatus(status: Status): void {
    if (this.singleResponse && status.code === Code.OK && this.count === 0) {
      status = { code: Code.UNIMPLEMENTED, details: `${this.path} ended OK without a response message`, metadata: status.metadata };
    }
    this.sink.onStatus(status);
  }
}

/** Starts a call on the pipeline: the common end of plain and intercepted calls. */
export function startNetworkCall<Res>(
  core: ChannelCore,
  path: string,
  kind: MethodKind,
  deserializeResponse: Deserializer<Res>,
  options: ClientCallOptions,
  sink: ResponseSink<Res>,
): ClientCall {
  const call = new NetworkCall(core, path, kind, deserializeResponse, options, sink).call;
  call.start();
  return call;
}
