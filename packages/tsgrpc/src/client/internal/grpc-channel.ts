import { performance } from "node:perf_hooks";
import { Code } from "../../core/code.js";
import { resolveDeadline } from "../../core/deadline.js";
import { RpcError } from "../../core/rpc-error.js";
import { getCompressor, parseAcceptEncoding } from "../../protocol/compression.js";
import { Http2ErrorCode } from "../../protocol/status-mapping.js";
import type { GoawayInfo, SocketAddress } from "../../transport/transport.js";
import type { Balancer, BalancerHelper } from "../balancer/balancer.js";
import { getBalancer, selectBalancer } from "../balancer/balancer-registry.js";
import { pickFirst } from "../balancer/pick-first.js";
import "../balancer/round-robin.js";
import { idlePicker, type Picker, type PickResult } from "../balancer/picker.js";
import type { Channel, StateListener, WaitForReadyOptions } from "../channel.js";
import { tlsServerName, type ChannelCredentials } from "../channel-credentials.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH, type ChannelOptions } from "../channel-options.js";
import { parseServiceConfig, type ServiceConfig } from "../config/service-config.js";
import { ConnectivityState } from "../connectivity-state.js";
import type { ConnectOptions, Connector } from "../connector/connector.js";
import { defaultConfigSelector, type ConfigSelector } from "../pipeline/config-selector.js";
import type { NameResolver, ResolverFactory, ResolverListener, ResolverUpdate } from "../resolver/resolver.js";
import { resolveTarget } from "../resolver/resolve-target.js";
import type { Target } from "../resolver/target.js";
import { Backoff } from "../subchannel/backoff.js";
import { Subchannel, type SubchannelContext } from "../subchannel/subchannel.js";
import type { ChannelCall, ChannelCore, QueuedPick } from "./channel-core.js";

/** What the channel is built from besides the public arguments (tests give another connector). */
export interface ChannelInternals {
  connector: Connector;
  serviceConfig?: ServiceConfig;
}

/**
 * The channel (reference: `grpc.Channel`): its public API and connectivity, and the resolving layer
 * under it. Leaving IDLE it makes a resolver for the target and, on the resolver's first answer, the
 * load-balancing policy the service config names (pick_first by default); the policy makes subchannels
 * and publishes the channel's state with a picker. Without calls for the idle timeout, the resolver and
 * the policy are dropped and the channel rests IDLE until the next call.
 */
export class GrpcChannel implements Channel, ChannelCore, ResolverListener, BalancerHelper, SubchannelContext {
  readonly authority: string;
  readonly scheme: "http" | "https";
  readonly userAgent: string | undefined;
  readonly defaultCompression: string | undefined;
  readonly maxReceiveMessageLength: number;
  readonly maxSendMessageLength: number;
  readonly configSelector: ConfigSelector = defaultConfigSelector;
  readonly connector: Connector;
  readonly backoff: ChannelOptions["backoff"];
  readonly connectTimeoutMs: number;
  picker: Picker;
  private readonly parsed: Target;
  private readonly resolverFactory: ResolverFactory;
  private readonly serviceConfig: ServiceConfig | undefined;
  private state = ConnectivityState.IDLE;
  /** Each subscriber, and whether it has been told a state since it subscribed. */
  private readonly listeners = new Map<StateListener, { told: boolean }>();
  /** Out of IDLE mode: a resolver (and, after its first answer, a policy) are at work. */
  private active = false;
  private resolver: NameResolver | undefined;
  private balancer: Balancer | undefined;
  private balancerName: string | undefined;
  private readonly picks = new Set<QueuedPick>();
  private readonly calls = new Set<ChannelCall>();
  /** Re-resolution is paced: at most one request per backoff delay, reset once READY. */
  private readonly resolutionBackoff: Backoff;
  private nextResolutionAt = 0;
  private resolutionTimer: NodeJS.Timeout | undefined;
  private readonly idleTimeoutMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  /** When a call last started or ended (performance.now()): the idle timeout counts from there. */
  private lastCallAt = 0;
  /** Keepalive time for new connections: doubles each time a server answers "too_many_pings" (A8). */
  private keepaliveTimeMs: number | undefined;
  private peerAcceptEncoding: Set<string> | undefined;
  private readonly exitIdleFn = (): void => this.exitIdle();

  constructor(
    readonly target: string,
    readonly credentials: ChannelCredentials,
    private readonly options: ChannelOptions,
    internals: ChannelInternals,
  ) {
    // A malformed target throws here, from createChannel, rather than failing every call later.
    const { target: parsed, factory } = resolveTarget(target);
    this.parsed = parsed;
    this.resolverFactory = factory;
    this.authority = options.serverNameOverride ?? options.authority ?? factory.authority?.(parsed) ?? parsed.endpoint;
    this.scheme = credentials.tls ? "https" : "http";
    this.userAgent = options.userAgent;
    if (options.compression !== undefined && options.compression !== "identity" && !getCompressor(options.compression)) {
      throw new Error(`unknown compression "${options.compression}"`);
    }
    this.defaultCompression = options.compression;
    this.maxReceiveMessageLength = options.maxReceiveMessageLength ?? DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;
    this.maxSendMessageLength = options.maxSendMessageLength ?? Infinity;
    checkChannelOptions(options);
    this.backoff = options.backoff;
    this.resolutionBackoff = new Backoff(options.backoff);
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.keepaliveTimeMs = options.keepaliveTimeMs;
    this.connector = internals.connector;
    this.serviceConfig = internals.serviceConfig ?? defaultServiceConfig(options.serviceConfig);
    this.picker = idlePicker(this.exitIdleFn);
  }

  // ---- public API -----------------------------------------------------------------------------------

  getState(tryToConnect = false): ConnectivityState {
    if (tryToConnect && this.state === ConnectivityState.IDLE) this.exitIdle();
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
        else if (state === ConnectivityState.IDLE) this.exitIdle();
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
    this.dropResolution(false);
    this.setState(ConnectivityState.SHUTDOWN);
    this.picker = CLOSED_PICKER;
    const closed = new RpcError(Code.CANCELLED, "channel closed");
    for (const call of [...this.calls]) call.cancel(closed);
    this.repickAll();
    this.listeners.clear();
  }

  // ---- ChannelCore ----------------------------------------------------------------------------------

  queuePick(pick: QueuedPick): void {
    this.picks.add(pick);
  }

  unqueuePick(pick: QueuedPick): void {
    this.picks.delete(pick);
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

  // ---- resolving: ResolverListener ------------------------------------------------------------------

  onUpdate(update: ResolverUpdate): void {
    if (!this.active) return;
    const configs = (update.serviceConfig instanceof Error ? undefined : update.serviceConfig) ?? this.serviceConfig;
    const chosen = selectBalancer(configs?.loadBalancingConfig ?? []) ?? { factory: getBalancer("pick_first") ?? pickFirst, config: {} };
    if (this.balancer === undefined || this.balancerName !== chosen.factory.name) {
      this.balancer?.close(true);
      this.balancerName = chosen.factory.name;
      this.balancer = chosen.factory.create(this);
    }
    this.balancer.update(update, chosen.config);
  }

  onError(error: Error): void {
    if (!this.active) return;
    const failure = new Error(`name resolution of "${this.target}" failed: ${error.message}`);
    if (this.balancer) this.balancer.resolverError(failure);
    else {
      const status = new RpcError(Code.UNAVAILABLE, `failed to connect to ${this.target}: ${failure.message}`);
      this.updateState(ConnectivityState.TRANSIENT_FAILURE, { pick: () => ({ type: "fail", error: status }) });
    }
    this.requestReresolution();
  }

  // ---- BalancerHelper -------------------------------------------------------------------------------

  createSubchannel(address: SocketAddress): Subchannel {
    return new Subchannel(address, this);
  }

  updateState(state: ConnectivityState, picker: Picker): void {
    if (!this.active) return; // idle or closed: a late report from a dropped policy
    this.picker = picker;
    if (state === ConnectivityState.READY) this.resolutionBackoff.reset();
    this.setState(state);
    this.repickAll();
  }

  requestReresolution(): void {
    if (!this.active || this.resolutionTimer !== undefined) return;
    const delay = Math.max(0, this.nextResolutionAt - performance.now());
    this.resolutionTimer = setTimeout(() => {
      this.resolutionTimer = undefined;
      this.nextResolutionAt = performance.now() + this.resolutionBackoff.next();
      this.resolver?.resolveNow();
    }, delay);
    this.resolutionTimer.unref();
  }

  // ---- SubchannelContext ----------------------------------------------------------------------------

  connectOptions(address: SocketAddress): Omit<ConnectOptions, "connectTimeoutMs" | "events"> {
    const tls = this.credentials.tls
      ? {
          ...this.credentials.tls,
          // The certificate must name the host the user asked for, not the address it resolved to.
          servername: this.options.serverNameOverride ?? this.credentials.tls.servername ?? tlsServerName(this.authority),
        }
      : undefined;
    return { ...this.options, address, tls, localOnly: this.credentials.localOnly, keepaliveTimeMs: this.keepaliveTimeMs };
  }

  onGoaway(goaway: GoawayInfo | undefined): void {
    if (goaway?.errorCode === Http2ErrorCode.ENHANCE_YOUR_CALM && goaway.debugData === "too_many_pings") this.onTooManyPings();
  }

  // ---- idleness -------------------------------------------------------------------------------------

  /** IDLE → CONNECTING: a resolver for the target; its first answer brings the balancing policy. */
  exitIdle(): void {
    if (this.state === ConnectivityState.SHUTDOWN) return;
    if (this.active) {
      this.balancer?.exitIdle();
      return;
    }
    this.lastCallAt = performance.now();
    this.armIdleTimer(this.idleTimeoutMs);
    this.nextResolutionAt = performance.now() + this.resolutionBackoff.next();
    this.setState(ConnectivityState.CONNECTING);
    this.picker = QUEUE_PICKER;
    this.active = true;
    const resolver = this.resolverFactory.create(this.parsed, this);
    // A resolver may answer inside create(), and so bring a failure that left IDLE mode already.
    if (this.active && this.resolver === undefined) this.resolver = resolver;
    else resolver.close();
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
    if (!this.active) return;
    if (this.calls.size > 0 || this.picks.size > 0) {
      this.armIdleTimer(this.idleTimeoutMs);
      return;
    }
    const quietFor = performance.now() - this.lastCallAt;
    if (quietFor < this.idleTimeoutMs) this.armIdleTimer(this.idleTimeoutMs - quietFor);
    else this.enterIdle();
  }

  /** No calls for the idle timeout: drop the connections (gracefully) and rest in IDLE until the next call. */
  private enterIdle(): void {
    this.dropResolution(true);
    this.resolutionBackoff.reset();
    this.picker = idlePicker(this.exitIdleFn);
    this.setState(ConnectivityState.IDLE);
  }

  private dropResolution(graceful: boolean): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    clearTimeout(this.resolutionTimer);
    this.resolutionTimer = undefined;
    const { resolver, balancer } = this;
    this.active = false;
    this.resolver = undefined;
    this.balancer = undefined;
    this.balancerName = undefined;
    resolver?.close();
    balancer?.close(graceful);
  }

  // ---- internals ------------------------------------------------------------------------------------

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

  /** The queued calls pick again, on the picker just published. */
  private repickAll(): void {
    if (this.picks.size === 0) return;
    const picks = [...this.picks];
    this.picks.clear();
    for (const pick of picks) pick.repick();
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
}

const QUEUED: PickResult = { type: "queue" };
const QUEUE_PICKER: Picker = { pick: () => QUEUED };
const CLOSED: PickResult = { type: "drop", error: new RpcError(Code.UNAVAILABLE, "channel closed") };
const CLOSED_PICKER: Picker = { pick: () => CLOSED };

/**
 * The `serviceConfig` option (`grpc.service_config`), parsed and checked at createChannel: invalid JSON,
 * a malformed loadBalancingConfig, or one naming no registered policy throws a TypeError saying which.
 */
function defaultServiceConfig(text: string | undefined): ServiceConfig | undefined {
  if (text === undefined) return undefined;
  let config: ServiceConfig;
  try {
    config = parseServiceConfig(text);
  } catch (err) {
    throw new TypeError(`invalid channel option serviceConfig (grpc.service_config): ${(err as Error).message}`, { cause: err });
  }
  if (config.loadBalancingConfig.length > 0 && !selectBalancer(config.loadBalancingConfig)) {
    const names = config.loadBalancingConfig.map((entry) => Object.keys(entry)[0]).join(", ");
    throw new TypeError(`invalid channel option serviceConfig (grpc.service_config): no policy in loadBalancingConfig is supported (${names}; supported: pick_first, round_robin)`);
  }
  return config;
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
