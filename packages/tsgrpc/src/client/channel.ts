import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { getCompressor, parseAcceptEncoding } from "../protocol/compression.js";
import { connectHttp2 } from "../transport/http2/client-connection.js";
import type { ClientConnection, GoawayInfo, SocketAddress } from "../transport/transport.js";
import { Http2ErrorCode } from "../protocol/status-mapping.js";
import { performance } from "node:perf_hooks";
import { resolveDeadline } from "../core/deadline.js";
import { Backoff } from "./backoff.js";
import type { CallHost, ChannelCall, PendingPick } from "./call-host.js";
import { ChannelCredentials, tlsServerName } from "./channel-credentials.js";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
  type ChannelOptions,
} from "./channel-options.js";
import { normalizeChannelOptions } from "./channel-args.js";
import { ConnectivityState } from "./connectivity-state.js";
import { interceptChannel } from "./interceptor.js";
import { resolveTarget, type Resolver } from "./resolver.js";
import type { Target } from "./target.js";

export type StateListener = (state: ConnectivityState) => void;

/**
 * A virtual connection to a target (reference: `grpc.Channel`). It connects lazily on the first call,
 * keeps one HTTP/2 session for all calls, and reconnects with backoff when that session goes away.
 */
export interface Channel {
  readonly target: string;
  /** The current state; with `tryToConnect` an IDLE channel starts connecting. */
  getState(tryToConnect?: boolean): ConnectivityState;
  /**
   * Calls `listener` with the current state (soon after, not inside, this call) and then with every
   * state change, until unsubscribed; with `tryToConnect` an IDLE channel starts connecting (reference:
   * `subscribe(callback, try_to_connect)`). Returns the function that unsubscribes.
   */
  subscribe(listener: StateListener, tryToConnect?: boolean): () => void;
  /** Stops calling `listener` (reference: `unsubscribe`); the same as calling what `subscribe` returned. */
  unsubscribe(listener: StateListener): void;
  /**
   * Resolves once the channel is READY, connecting if needed; rejects with DEADLINE_EXCEEDED at the
   * deadline, CANCELLED on abort, UNAVAILABLE when the channel is closed (reference: `channel_ready_future`).
   */
  waitForReady(options?: WaitForReadyOptions): Promise<void>;
  /** Closes every connection; running calls end CANCELLED, new ones fail (reference: `close`). */
  close(): void;
}

export interface WaitForReadyOptions {
  /** Relative time limit; with `deadline` too, the earlier wins. */
  timeoutMs?: number;
  /** Absolute time limit (Date or ms since the epoch). */
  deadline?: Date | number;
  signal?: AbortSignal;
}

/**
 * Opens a channel to `target` in gRPC naming syntax: "host:port", "dns:[//authority/]host[:port]",
 * "ipv4:addr:port[,addr:port]", "ipv6:[addr]:port[,[addr]:port]", "unix:path", "unix:///abs/path",
 * "unix-abstract:name", or a scheme added with `registerResolver`. A target is not a URL: for
 * "https://host" write `createChannel("host:443", ChannelCredentials.tls())`. A malformed target (a
 * URL, an unknown `scheme://`, a bad port, an empty string) throws a TypeError, or a RangeError for a
 * port out of range, at once.
 */
export function createChannel(target: string, credentials?: ChannelCredentials, options?: ChannelOptions): Channel & CallHost {
  // gRPC channel-argument names ("grpc.keepalive_time_ms") become typed fields; unknown ones throw.
  const { interceptors, ...typed } = normalizeChannelOptions(options ?? {});
  const channel = new GrpcChannel(target, credentials ?? ChannelCredentials.insecure(), typed);
  return interceptors && interceptors.length > 0 ? interceptChannel(channel, ...interceptors) : channel;
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
  /** Each subscriber, and whether it has been told a state since it subscribed. */
  private readonly listeners = new Map<StateListener, { told: boolean }>();
  /** The connection calls go to, once READY. */
  private current: ClientConnection | undefined;
  /** The connection being attempted. */
  private connecting: ClientConnection | undefined;
  /** Connections that got GOAWAY: their calls finish, new calls go elsewhere. */
  private readonly draining = new Set<ClientConnection>();
  private readonly picks = new Set<PendingPick>();
  private readonly calls = new Set<ChannelCall>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** When the current connection attempt began, and the backoff it was given (connection-backoff.md). */
  private attemptStartedAt = 0;
  private attemptBackoffMs = 0;
  private readonly idleTimeoutMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  /** When a call last started or ended (performance.now()): the idle timeout counts from there. */
  private lastCallAt = 0;
  /** Keepalive time for new connections: doubles each time a server answers "too_many_pings" (A8). */
  private keepaliveTimeMs: number | undefined;
  private lastError: Error | undefined;
  private peerAcceptEncoding: Set<string> | undefined;

  constructor(
    readonly target: string,
    readonly credentials: ChannelCredentials,
    private readonly options: ChannelOptions,
  ) {
    // A malformed target throws here, from createChannel, rather than failing every call later.
    const { target: parsed, resolver } = resolveTarget(target);
    this.parsed = parsed;
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
    checkChannelOptions(options);
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.keepaliveTimeMs = options.keepaliveTimeMs;
  }

  // ---- public API -----------------------------------------------------------------------------------

  getState(tryToConnect = false): ConnectivityState {
    if (tryToConnect && this.state === ConnectivityState.IDLE) this.startConnecting();
    return this.state;
  }

  subscribe(listener: StateListener, tryToConnect = false): () => void {
    // Connect first, so that the listener is never called from inside subscribe().
    if (tryToConnect) this.getState(true);
    const entry = { told: false };
    if (this.state !== ConnectivityState.SHUTDOWN) this.listeners.set(listener, entry);
    // The current state goes out on the next microtask, unless a change has been delivered by then (or
    // the listener unsubscribed): it starts from the state of the moment and misses no change after it.
    queueMicrotask(() => {
      if (entry.told) return;
      entry.told = true;
      notify(listener, this.state);
    });
    return () => {
      if (this.listeners.get(listener) === entry) this.listeners.delete(listener);
      entry.told = true; // nor the pending first notification
    };
  }

  unsubscribe(listener: StateListener): void {
    const entry = this.listeners.get(listener);
    if (!entry) return;
    entry.told = true;
    this.listeners.delete(listener);
  }

  waitForReady(options: WaitForReadyOptions = {}): Promise<void> {
    if (this.getState(true) === ConnectivityState.READY) return Promise.resolve();
    let deadline: number;
    try {
      deadline = resolveDeadline(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe = (): void => {};
      const finish = (error?: RpcError): void => {
        unsubscribe();
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve();
      };
      unsubscribe = this.subscribe((state) => {
        if (state === ConnectivityState.READY) finish();
        else if (state === ConnectivityState.SHUTDOWN) finish(new RpcError(Code.UNAVAILABLE, "channel closed"));
        else if (state === ConnectivityState.IDLE) this.startConnecting();
      });
      const onAbort = (): void => finish(new RpcError(Code.CANCELLED, "waitForReady aborted"));
      options.signal?.addEventListener("abort", onAbort);
      if (options.signal?.aborted) onAbort();
      if (deadline !== Infinity) {
        const ms = Math.max(0, deadline - Date.now());
        timer = setTimeout(() => finish(new RpcError(Code.DEADLINE_EXCEEDED, `channel not ready within ${ms} ms`)), ms);
      }
      if (this.state === ConnectivityState.SHUTDOWN) finish(new RpcError(Code.UNAVAILABLE, "channel closed"));
    });
  }

  close(): void {
    if (this.state === ConnectivityState.SHUTDOWN) return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
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
    if (this.idleTimer !== undefined) this.lastCallAt = performance.now();
  }

  untrack(call: ChannelCall): void {
    this.calls.delete(call);
    if (this.idleTimer !== undefined) this.lastCallAt = performance.now();
  }

  // ---- connection management ------------------------------------------------------------------------

  private setState(state: ConnectivityState): void {
    if (this.state === state || this.state === ConnectivityState.SHUTDOWN) return;
    this.state = state;
    for (const [listener, entry] of [...this.listeners]) {
      // One that unsubscribed during this round is not called any more.
      if (this.listeners.get(listener) !== entry) continue;
      entry.told = true;
      notify(listener, state);
    }
  }

  private startConnecting(): void {
    if (this.state !== ConnectivityState.IDLE && this.state !== ConnectivityState.TRANSIENT_FAILURE) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // connection-backoff.md: the next attempt starts `backoff` after this one started (not after it
    // failed), and this one may take that long, or MIN_CONNECT_TIMEOUT if longer.
    this.attemptStartedAt = performance.now();
    this.attemptBackoffMs = this.backoff.next();
    if (this.state === ConnectivityState.IDLE) {
      this.lastCallAt = performance.now();
      this.armIdleTimer(this.idleTimeoutMs);
    }
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
      ? {
          ...this.credentials.tls,
          // The certificate must name the host the user asked for, not the address it resolved to.
          servername: this.options.serverNameOverride ?? this.credentials.tls.servername ?? tlsServerName(this.authority),
        }
      : undefined;
    const connection: ClientConnection = connectHttp2({
      ...this.options,
      address,
      tls,
      localOnly: this.credentials.localOnly,
      keepaliveTimeMs: this.keepaliveTimeMs,
      connectTimeoutMs: Math.max(this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, this.attemptBackoffMs),
      events: {
        onReady: () => this.onConnectionReady(connection),
        onDraining: (goaway) => this.onConnectionDraining(connection, goaway),
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
  private onConnectionDraining(connection: ClientConnection, goaway: GoawayInfo | undefined): void {
    if (goaway?.errorCode === Http2ErrorCode.ENHANCE_YOUR_CALM && goaway.debugData === "too_many_pings") {
      this.onTooManyPings();
    }
    if (this.current !== connection) return;
    this.current = undefined;
    this.draining.add(connection);
    this.onConnectionLost();
  }

  /** A READY connection went away: back to IDLE, and reconnect at once if calls are waiting. */
  private onConnectionLost(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.setState(ConnectivityState.IDLE);
    if (this.picks.size > 0) this.startConnecting();
  }

  private onConnectFailed(error: Error): void {
    if (this.state === ConnectivityState.SHUTDOWN) return;
    this.lastError = error;
    this.setState(ConnectivityState.TRANSIENT_FAILURE);
    this.failPicks(this.unavailable(), false);
    // TRANSIENT_FAILURE only ever leads to CONNECTING (connectivity-semantics-and-api.md): the channel
    // keeps trying, with backoff, until it connects, is closed, or the idle timeout takes it to IDLE.
    const delay = Math.max(0, this.attemptStartedAt + this.attemptBackoffMs - performance.now());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === ConnectivityState.TRANSIENT_FAILURE) this.startConnecting();
    }, delay);
    this.retryTimer.unref();
  }

  /** gRFC A8: the server found our pings too frequent; new connections ping half as often. */
  private onTooManyPings(): void {
    if (this.keepaliveTimeMs === undefined || this.keepaliveTimeMs === Infinity) return;
    const doubled = Math.min(this.keepaliveTimeMs * 2, MAX_KEEPALIVE_TIME_MS);
    process.emitWarning(
      `${this.target} answered GOAWAY ENHANCE_YOUR_CALM "too_many_pings": keepalive time raised from ${this.keepaliveTimeMs} ms to ${doubled} ms for new connections`,
      { code: "TSGRPC_TOO_MANY_PINGS" },
    );
    this.keepaliveTimeMs = doubled;
  }

  /**
   * The idle timer runs while the channel is out of IDLE. It does not move with every call: when it
   * fires it looks at when a call last started or ended and sleeps again for what is left.
   */
  private armIdleTimer(delayMs: number): void {
    if (this.idleTimeoutMs === Infinity) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.onIdleTimer(), Math.min(Math.max(delayMs, 1), MAX_TIMER_MS));
    this.idleTimer.unref();
  }

  private onIdleTimer(): void {
    this.idleTimer = undefined;
    if (this.state === ConnectivityState.IDLE || this.state === ConnectivityState.SHUTDOWN) return;
    if (this.calls.size > 0 || this.picks.size > 0) {
      this.armIdleTimer(this.idleTimeoutMs);
      return;
    }
    const quietFor = performance.now() - this.lastCallAt;
    if (quietFor < this.idleTimeoutMs) this.armIdleTimer(this.idleTimeoutMs - quietFor);
    else this.enterIdle();
  }

  /** No calls for the idle timeout: drop the connection (gracefully) and rest in IDLE until the next call. */
  private enterIdle(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const current = this.current;
    const connecting = this.connecting;
    this.current = undefined;
    this.connecting = undefined;
    this.backoff.reset();
    this.setState(ConnectivityState.IDLE);
    connecting?.destroy();
    current?.close();
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

/** setTimeout's longest delay; longer idle timeouts re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The doubled keepalive time stops growing here (a day). */
const MAX_KEEPALIVE_TIME_MS = 24 * 60 * 60 * 1000;

/** A listener that throws must not break the channel: its error surfaces as an uncaught exception. */
function notify(listener: StateListener, state: ConnectivityState): void {
  try {
    listener(state);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** Durations must be positive numbers (Infinity = never); a typo fails at createChannel, not later. */
function checkChannelOptions(options: ChannelOptions): void {
  for (const name of ["keepaliveTimeMs", "keepaliveTimeoutMs", "idleTimeoutMs", "connectTimeoutMs"] as const) {
    const value = options[name];
    if (value !== undefined && !(typeof value === "number" && value > 0)) {
      throw new RangeError(`channel option ${name} must be a positive number of milliseconds, got ${String(value)}`);
    }
  }
}
