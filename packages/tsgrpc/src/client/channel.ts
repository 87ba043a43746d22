import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { getCompressor, parseAcceptEncoding } from "../protocol/compression.js";
import { connectHttp2 } from "../transport/http2/client-connection.js";
import type { ClientConnection, SocketAddress } from "../transport/transport.js";
import { Backoff } from "./backoff.js";
import type { CallHost, ChannelCall, PendingPick } from "./call-host.js";
import { ChannelCredentials } from "./channel-credentials.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH, type ChannelOptions } from "./channel-options.js";
import { ConnectivityState } from "./connectivity-state.js";
import { getResolver, registeredSchemes, type Resolver } from "./resolver.js";
import { parseTarget, type Target } from "./target.js";

export type StateListener = (state: ConnectivityState) => void;

/**
 * A virtual connection to a target (reference: `grpc.Channel`). It connects lazily on the first call,
 * keeps one HTTP/2 session for all calls, and reconnects with backoff when that session goes away.
 */
export interface Channel {
  readonly target: string;
  /** The current state; with `tryToConnect` an IDLE channel starts connecting. */
  getState(tryToConnect?: boolean): ConnectivityState;
  /** Calls `listener` on every state change; the returned function unsubscribes (reference: `subscribe`). */
  subscribe(listener: StateListener): () => void;
  /**
   * Resolves once the channel is READY, connecting if needed; rejects with DEADLINE_EXCEEDED at the
   * deadline, or CANCELLED on abort (reference: `channel_ready_future`).
   */
  waitForReady(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Closes every connection; running calls end CANCELLED, new ones fail (reference: `close`). */
  close(): void;
}

/** Opens a channel to `target` ("host:port", "dns:host:port", "ipv4:...", "ipv6:...", "unix:path"). */
export function createChannel(target: string, credentials?: ChannelCredentials, options?: ChannelOptions): Channel & CallHost {
  return new GrpcChannel(target, credentials ?? ChannelCredentials.insecure(), options ?? {});
}

class GrpcChannel implements Channel, CallHost {
  readonly authority: string;
  readonly scheme: "http" | "https";
  readonly userAgent: string | undefined;
  readonly defaultCompression: string | undefined;
  readonly maxReceiveMessageLength: number;
  readonly maxSendMessageLength: number;
  private readonly parsed: Target;
  private readonly resolver: Resolver;
  private readonly backoff: Backoff;
  private state = ConnectivityState.IDLE;
  private readonly listeners = new Set<StateListener>();
  /** The connection calls go to, once READY. */
  private current: ClientConnection | undefined;
  /** The connection being attempted. */
  private connecting: ClientConnection | undefined;
  /** Connections that got GOAWAY: their calls finish, new calls go elsewhere. */
  private readonly draining = new Set<ClientConnection>();
  private readonly picks = new Set<PendingPick>();
  private readonly calls = new Set<ChannelCall>();
  private retryTimer: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private peerAcceptEncoding: Set<string> | undefined;

  constructor(
    readonly target: string,
    private readonly credentials: ChannelCredentials,
    private readonly options: ChannelOptions,
  ) {
    this.parsed = parseTarget(target, registeredSchemes());
    const resolver = getResolver(this.parsed.scheme);
    if (!resolver) throw new Error(`no resolver for scheme "${this.parsed.scheme}" in target "${target}"`);
    this.resolver = resolver;
    this.authority = options.serverNameOverride ?? options.authority ?? resolver.authority?.(this.parsed) ?? this.parsed.endpoint;
    this.scheme = credentials.tls ? "https" : "http";
    this.userAgent = options.userAgent;
    if (options.compression !== undefined && options.compression !== "identity" && !getCompressor(options.compression)) {
      throw new Error(`unknown compression "${options.compression}"`);
    }
    this.defaultCompression = options.compression;
    this.maxReceiveMessageLength = options.maxReceiveMessageLength ?? DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;
    this.maxSendMessageLength = options.maxSendMessageLength ?? Infinity;
    this.backoff = new Backoff(options.backoff);
  }

  // ---- public API -----------------------------------------------------------------------------------

  getState(tryToConnect = false): ConnectivityState {
    if (tryToConnect && this.state === ConnectivityState.IDLE) this.startConnecting();
    return this.state;
  }

  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  waitForReady(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.getState(true) === ConnectivityState.READY) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (error?: RpcError): void => {
        unsubscribe();
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve();
      };
      const unsubscribe = this.subscribe((state) => {
        if (state === ConnectivityState.READY) finish();
        else if (state === ConnectivityState.SHUTDOWN) finish(new RpcError(Code.UNAVAILABLE, "channel closed"));
        else if (state === ConnectivityState.IDLE) this.startConnecting();
      });
      const onAbort = (): void => finish(new RpcError(Code.CANCELLED, "waitForReady aborted"));
      options.signal?.addEventListener("abort", onAbort);
      if (options.signal?.aborted) onAbort();
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => finish(new RpcError(Code.DEADLINE_EXCEEDED, `channel not ready within ${options.timeoutMs} ms`)), options.timeoutMs);
      }
      if (this.state === ConnectivityState.SHUTDOWN) finish(new RpcError(Code.UNAVAILABLE, "channel closed"));
    });
  }

  close(): void {
    if (this.state === ConnectivityState.SHUTDOWN) return;
    clearTimeout(this.retryTimer);
    this.setState(ConnectivityState.SHUTDOWN);
    const closed = new RpcError(Code.CANCELLED, "channel closed");
    for (const call of [...this.calls]) call.cancel(closed);
    this.failPicks(new RpcError(Code.UNAVAILABLE, "channel closed"), true);
    for (const connection of [this.current, this.connecting, ...this.draining]) connection?.destroy();
    this.current = undefined;
    this.connecting = undefined;
    this.draining.clear();
    this.listeners.clear();
  }

  // ---- CallHost -------------------------------------------------------------------------------------

  tryPick(): ClientConnection | undefined {
    const connection = this.current;
    return connection !== undefined && connection.state === "ready" ? connection : undefined;
  }

  waitForConnection(pick: PendingPick): () => void {
    if (this.state === ConnectivityState.SHUTDOWN) {
      pick.onFailed(new RpcError(Code.UNAVAILABLE, "channel closed"));
      return () => {};
    }
    if (this.state === ConnectivityState.TRANSIENT_FAILURE && !pick.waitForReady) {
      pick.onFailed(this.unavailable());
      return () => {};
    }
    this.picks.add(pick);
    if (this.state === ConnectivityState.IDLE) this.startConnecting();
    return () => this.picks.delete(pick);
  }

  peerAccepts(encoding: string): boolean {
    return this.peerAcceptEncoding === undefined || this.peerAcceptEncoding.has(encoding);
  }

  notePeerAcceptEncoding(header: string | undefined): void {
    if (header !== undefined) this.peerAcceptEncoding = parseAcceptEncoding(header);
  }

  track(call: ChannelCall): void {
    this.calls.add(call);
  }

  untrack(call: ChannelCall): void {
    this.calls.delete(call);
  }

  // ---- connection management ------------------------------------------------------------------------

  private setState(state: ConnectivityState): void {
    if (this.state === state || this.state === ConnectivityState.SHUTDOWN) return;
    this.state = state;
    for (const listener of [...this.listeners]) listener(state);
  }

  private startConnecting(): void {
    if (this.state !== ConnectivityState.IDLE && this.state !== ConnectivityState.TRANSIENT_FAILURE) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setState(ConnectivityState.CONNECTING);
    this.resolver.resolve(this.parsed).then(
      (addresses) => this.tryAddress(addresses, 0, undefined),
      (err: Error) => this.onConnectFailed(new Error(`name resolution of "${this.target}" failed: ${err.message}`)),
    );
  }

  /** pick_first: the addresses in order until one connects. */
  private tryAddress(addresses: readonly SocketAddress[], index: number, lastError: Error | undefined): void {
    if (this.state !== ConnectivityState.CONNECTING) return;
    const address = addresses[index];
    if (address === undefined) {
      this.onConnectFailed(lastError ?? new Error(`target "${this.target}" resolved to no address`));
      return;
    }
    const tls = this.credentials.tls
      ? { ...this.credentials.tls, servername: this.options.serverNameOverride ?? this.credentials.tls.servername }
      : undefined;
    const connection: ClientConnection = connectHttp2({
      ...this.options,
      address,
      tls,
      connectTimeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      events: {
        onReady: () => this.onConnectionReady(connection),
        onDraining: () => this.onConnectionDraining(connection),
        onClosed: (error) => {
          this.draining.delete(connection);
          if (this.connecting === connection) {
            this.connecting = undefined;
            this.tryAddress(addresses, index + 1, error ?? new Error("connection closed during the handshake"));
          } else if (this.current === connection) {
            this.current = undefined;
            this.onConnectionLost();
          }
        },
      },
    });
    this.connecting = connection;
  }

  private onConnectionReady(connection: ClientConnection): void {
    if (this.connecting !== connection) return;
    this.connecting = undefined;
    this.current = connection;
    this.backoff.reset();
    this.lastError = undefined;
    this.setState(ConnectivityState.READY);
    const picks = [...this.picks];
    this.picks.clear();
    for (const pick of picks) pick.onPicked(connection);
  }

  /** GOAWAY: running calls finish on the old connection; the next call makes a new one. */
  private onConnectionDraining(connection: ClientConnection): void {
    if (this.current !== connection) return;
    this.current = undefined;
    this.draining.add(connection);
    this.onConnectionLost();
  }

  /** A READY connection went away: back to IDLE, and reconnect at once if calls are waiting. */
  private onConnectionLost(): void {
    this.setState(ConnectivityState.IDLE);
    if (this.picks.size > 0) this.startConnecting();
  }

  private onConnectFailed(error: Error): void {
    if (this.state === ConnectivityState.SHUTDOWN) return;
    this.lastError = error;
    this.setState(ConnectivityState.TRANSIENT_FAILURE);
    this.failPicks(this.unavailable(), false);
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state !== ConnectivityState.TRANSIENT_FAILURE) return;
      // Keep trying while calls wait for the channel; otherwise rest until the next call.
      if (this.picks.size > 0) this.startConnecting();
      else this.setState(ConnectivityState.IDLE);
    }, delay);
    this.retryTimer.unref();
  }

  private unavailable(): RpcError {
    const reason = this.lastError?.message ?? "connection failed";
    return new RpcError(Code.UNAVAILABLE, `failed to connect to ${this.target}: ${reason}`);
  }

  /** Fails the waiting calls: fail-fast ones only, or every one (`all`) when the channel closes. */
  private failPicks(error: RpcError, all: boolean): void {
    for (const pick of [...this.picks]) {
      if (!all && pick.waitForReady) continue;
      this.picks.delete(pick);
      pick.onFailed(error);
    }
  }
}
