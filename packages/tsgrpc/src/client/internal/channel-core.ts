import type { ChannelCredentials } from "../channel-credentials.js";
import type { Picker } from "../balancer/picker.js";
import type { ConfigSelector } from "../pipeline/config-selector.js";
import type { RpcError } from "../../core/rpc-error.js";

/** A call waiting for a pick; the channel calls `repick` when it publishes a new picker (or closes). */
export interface QueuedPick {
  repick(): void;
}

/** A call the channel can end when it closes. */
export interface ChannelCall {
  cancel(reason: RpcError): void;
}

/**
 * What a call needs from its channel: the request head's fixed parts, the channel's defaults, the
 * config selector and the current picker. The channel implements it; calls never see the Channel's public
 * surface, and users never see this (entry points find it through channel-registry.ts).
 */
export interface ChannelCore {
  readonly target: string;
  readonly authority: string;
  readonly scheme: "http" | "https";
  readonly userAgent: string | undefined;
  readonly defaultCompression: string | undefined;
  readonly maxReceiveMessageLength: number;
  readonly maxSendMessageLength: number;
  /** The channel's credentials: whether call credentials may be sent, and those composed into it. */
  readonly credentials?: ChannelCredentials;
  readonly configSelector: ConfigSelector;
  /** Where calls go now; replaced with every state change. */
  readonly picker: Picker;
  /** Waits for the next picker; `unqueuePick` withdraws. */
  queuePick(pick: QueuedPick): void;
  unqueuePick(pick: QueuedPick): void;
  /** False once the server told us (`grpc-accept-encoding`) that it does not take `encoding`. */
  peerAccepts(encoding: string): boolean;
  /** Records the server's `grpc-accept-encoding`. */
  notePeerAcceptEncoding(header: string | undefined): void;
  track(call: ChannelCall): void;
  untrack(call: ChannelCall): void;
}
