import { Code } from "./code.js";
import { Metadata } from "./metadata.js";
import { RpcError } from "./rpc-error.js";

/** How a call ended: code, message and trailing metadata (the reference API's `grpc.Status`). */
export interface Status {
  readonly code: Code;
  readonly details: string;
  readonly metadata: Metadata;
}

export function okStatus(metadata: Metadata = new Metadata()): Status {
  return { code: Code.OK, details: "", metadata };
}

export function statusFromError(err: RpcError): Status {
  return { code: err.code, details: err.details, metadata: err.metadata };
}

export function errorFromStatus(status: Status): RpcError {
  return new RpcError(status.code, status.details, status.metadata);
}
