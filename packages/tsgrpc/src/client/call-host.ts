import type { ClientConnection } from "../transport/transport.js";
import type { RpcError } from "../core/rpc-error.js";
import type { ChannelCredentials } from "./channel-credentials.js";

/** A call waiting for a connection; the channel settles it exactly once unless it is withdrawn. */
export interface PendingPick {
  readonly waitForReady: boolean;
  onPicked(connection: ClientConnection): void;
  onFailed(error: RpcError): void;
}

/** A call the channel can end when it closes. */
export interface ChannelCall {
  cancel(reason: RpcError): void;
}

/**
 * What a call needs from its channel: a connection, the request head's fixed parts and the channel's
 * defaults. The channel implements it; calls never see the Channel's public surface.
 */
export interface CallHost {
  readonly authority: string;
  readonly scheme: "http" | "https";
  readonly userAgent: string | undefined;
  readonly defaultCompression: string | undefined;
  readonly maxReceiveMessageLength: number;
  readonly maxSendMessageLength: number;
  /** The channel's credentials: whether call credentials may be sent, and those composed into it. */
  readonly credentials?: ChannelCredentials;
  /** A ready connection now, or undefined: then `waitForConnection`. */
  tryPick(): ClientConnection | undefined;
  /** Queues a pick; the returned function withdraws it (on deadline or cancel). */
  waitForConnection(pick: PendingPick): () => void;
  /** False once the server told us (`grpc-accept-encoding`) that it does not take `encoding`. */
  peerAccepts(encoding: string): boolean;
  /** Records the server's `grpc-accept-encoding`. */
  notePeerAcceptEncoding(header: string | undefined): void;
  track(call: ChannelCall): void;
  untrack(call: ChannelCall): void;
}
