import { performance } from "node:perf_hooks";
import type { ClientConnection, GoawayInfo, SocketAddress } from "../../transport/transport.js";
import { formatAddress } from "../../transport/transport.js";
import { ConnectivityState } from "../connectivity-state.js";
import type { ConnectOptions, Connector } from "../connector/connector.js";
import { Backoff, type BackoffOptions } from "./backoff.js";

/** What every subchannel of a channel shares: how to connect, and what the channel learns about it. */
export interface SubchannelContext {
  readonly connector: Connector;
  readonly backoff: BackoffOptions | undefined;
  /** The least time one connection attempt may take (doc/connection-backoff.md, MIN_CONNECT_TIMEOUT). */
  readonly connectTimeoutMs: number;
  /** The connection options for an address, without the timeout and the events. */
  connectOptions(address: SocketAddress): Omit<ConnectOptions, "connectTimeoutMs" | "events">;
  /** A connection of this channel got GOAWAY (with its content, when there was one). */
  onGoaway(goaway: GoawayInfo | undefined): void;
}

export type SubchannelListener = (subchannel: Subchannel, state: ConnectivityState) => void;

/**
 * One connection to one address, with its own connectivity state and reconnect backoff
 * (doc/connection-backoff.md). IDLE --connect()--> CONNECTING --> READY, or TRANSIENT_FAILURE and then,
 * once the backoff delay since the attempt began has passed, IDLE again. A READY subchannel whose
 * connection goes away (GOAWAY, loss) is IDLE; the calls still running on a draining connection finish
 * there. It never reconnects by itself: the balancing policy calls `connect()`.
 */
export class Subchannel {
  state = ConnectivityState.IDLE;
  /** The connection calls go to, while READY. */
  connection: ClientConnection | undefined;
  /** Why the last attempt failed. */
  lastError: Error | undefined;
  private connecting: ClientConnection | undefined;
  private readonly draining = new Set<ClientConnection>();
  private readonly backoff: Backoff;
  private attemptStartedAt = 0;
  private attemptBackoffMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<SubchannelListener>();

  constructor(
    readonly address: SocketAddress,
    private readonly context: SubchannelContext,
  ) {
    this.backoff = new Backoff(context.backoff);
  }

  /** "ipv4:127.0.0.1:50051". */
  toString(): string {
    return formatAddress(this.address);
  }

  watch(listener: SubchannelListener): void {
    this.listeners.add(listener);
  }

  unwatch(listener: SubchannelListener): void {
    this.listeners.delete(listener);
  }

  /** Starts a connection attempt if IDLE; otherwise does nothing (a failed one waits for its backoff). */
  connect(): void {
    if (this.state !== ConnectivityState.IDLE) return;
    // connection-backoff.md: the next attempt starts `backoff` after this one started (not after it
    // failed), and this one may take that long, or MIN_CONNECT_TIMEOUT if longer.
    this.attemptStartedAt = performance.now();
    this.attemptBackoffMs = this.backoff.next();
    this.setState(ConnectivityState.CONNECTING);
    if ((this.state as ConnectivityState) !== ConnectivityState.CONNECTING) return; // shut down by a listener
    const connection: ClientConnection = this.context.connector.connect({
      ...this.context.connectOptions(this.address),
      connectTimeoutMs: Math.max(this.context.connectTimeoutMs, this.attemptBackoffMs),
      events: {
        onReady: () => this.onReady(connection),
        onDraining: (goaway) => this.onDraining(connection, goaway),
        onClosed: (error) => this.onClosed(connection, error),
      },
    });
    this.connecting = connection;
  }

  /**
   * Drops the subchannel: with `graceful`, a ready connection finishes its calls first (the channel went
   * idle), otherwise every connection is torn down (the channel closed).
   */
  shutdown(graceful: boolean): void {
    if (this.state === ConnectivityState.SHUTDOWN) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const { connection, connecting } = this;
    this.connection = undefined;
    this.connecting = undefined;
    this.state = ConnectivityState.SHUTDOWN;
    this.listeners.clear();
    connecting?.destroy();
    if (graceful) connection?.close();
    else {
      connection?.destroy();
      for (const draining of [...this.draining]) draining.destroy();
    }
    this.draining.clear();
  }

  private onReady(connection: ClientConnection): void {
    if (this.connecting !== connection) return;
    this.connecting = undefined;
    this.connection = connection;
    this.backoff.reset();
    this.lastError = undefined;
    this.setState(ConnectivityState.READY);
  }

  /** GOAWAY: running calls finish on the old connection; the next call needs a new one. */
  private onDraining(connection: ClientConnection, goaway: GoawayInfo | undefined): void {
    this.context.onGoaway(goaway);
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.draining.add(connection);
    this.setState(ConnectivityState.IDLE);
  }

  private onClosed(connection: ClientConnection, error: Error | undefined): void {
    this.draining.delete(connection);
    if (this.connecting === connection) {
      this.connecting = undefined;
      this.lastError = error ?? new Error("connection closed during the handshake");
      this.setState(ConnectivityState.TRANSIENT_FAILURE);
      if ((this.state as ConnectivityState) !== ConnectivityState.TRANSIENT_FAILURE) return;
      const delay = Math.max(0, this.attemptStartedAt + this.attemptBackoffMs - performance.now());
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.state === ConnectivityState.TRANSIENT_FAILURE) this.setState(ConnectivityState.IDLE);
      }, delay);
      this.retryTimer.unref();
    } else if (this.connection === connection) {
      this.connection = undefined;
      this.setState(ConnectivityState.IDLE);
    }
  }

  private setState(state: ConnectivityState): void {
    if (this.state === state || this.state === ConnectivityState.SHUTDOWN) return;
    this.state = state;
    for (const listener of [...this.listeners]) {
      if (this.state !== state) return; // a listener moved it on (or shut it down)
      listener(this, state);
    }
  }
}
