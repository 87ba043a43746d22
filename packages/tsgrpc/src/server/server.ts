import { Code } from "../core/code.js";
import { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import { buildTrailersOnly } from "../protocol/headers.js";
import { acceptEncodingHeader, getCompressor, type CompressionName } from "../protocol/compression.js";
import { listenHttp2, type ServerListener } from "../transport/http2/server-listener.js";
import type { Http2Tuning, ServerConnectionOptions, ServerTransportStream, SocketAddress } from "../transport/transport.js";
import { admitRequest } from "./admit-request.js";
import { parseBindAddress } from "./bind-address.js";
import type { MethodHandler } from "./method-handler.js";
import type { DescService } from "@bufbuild/protobuf";
import { isServiceDefinition, protobufService, type ServiceDefinition } from "../protobuf/service-definition.js";
import { methodHandlersOf, type ServiceImplementation } from "./service-implementation.js";
import { Router, type GenericHandler } from "./router.js";
import { runHandler } from "./run-handler.js";
import { runIntercepted } from "./run-intercepted.js";
import { normalizeServerOptions, type ServerArgs } from "./server-args.js";
import { composeServerInterceptors, type ServerCallFn, type ServerInterceptor } from "./server-interceptor.js";
import { ServerCall, type ServerCallConfig } from "./server-call.js";
import { defaultReceiveBudgetBytes, ReceiveBudget } from "./receive-budget.js";
import { Http2ErrorCode } from "../protocol/status-mapping.js";
import { CallContext } from "./server-context.js";
import { ServerCredentials } from "./server-credentials.js";

export interface ServerOptions extends Http2Tuning, ServerConnectionOptions, ServerArgs {
  /**
   * Interceptors every call goes through before its handler, first listed first (reference: the
   * `interceptors` of `grpc.server`); see docs/interceptors.md.
   */
  interceptors?: readonly ServerInterceptor[];
  /**
   * Calls served at once across the whole server; a call beyond it is answered RESOURCE_EXHAUSTED
   * without running its handler (reference: `maximum_concurrent_rpcs`; default unlimited).
   */
  maxConcurrentRpcs?: number;
  /** Largest request message accepted, after decompression (default 4 MiB). */
  maxReceiveMessageLength?: number;
  /** Largest response message sent (default unlimited). */
  maxSendMessageLength?: number;
  /** Response compression used whenever the client accepts it ("gzip", "deflate"; default identity). */
  compression?: CompressionName;
  /**
   * Bytes the whole server may hold for request messages not yet complete, across all connections and
   * streams (default 64 MiB, or 4 × maxReceiveMessageLength if larger). Past it new streams are refused
   * with RST_STREAM(REFUSED_STREAM), which clients retry; running calls go on.
   */
  maxReceiveBufferBytes?: number;
}

export interface ShutdownOptions {
  /** How long running calls may go on; at the end they are cancelled. Default: no limit. */
  graceMs?: number;
}

/** The server API (reference: `grpc.Server`). */
export interface Server {
  /**
   * Serves a protobuf service from its generated descriptor, with one handler per method (reference: the
   * generated `add_XServicer_to_server`). Also takes a codec-agnostic ServiceDefinition.
   */
  addService<S extends DescService>(service: S, impl: ServiceImplementation<S>): this;
  addService(service: ServiceDefinition, impl: Record<string, unknown>): this;
  /** Serves a method under its path, codec-agnostic (reference: `method_handlers_generic_handler`). */
  addMethod(path: string, handler: MethodHandler): this;
  /** Asks `handler` for methods not registered by path (reference: `add_generic_rpc_handlers`). */
  addGenericHandler(handler: GenericHandler): this;
  /**
   * Listens on `address` and serves at once; resolves with the bound port (port 0 picks one).
   * Reference: `add_insecure_port` / `add_secure_port` followed by `start`.
   */
  bind(address: string, credentials?: ServerCredentials): Promise<number>;
  /** Addresses currently listened on. */
  readonly addresses: readonly SocketAddress[];
  /** Graceful stop: new calls get UNAVAILABLE, running calls may finish within the grace period. */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Immediate stop: running calls are cancelled now. */
  forceShutdown(): Promise<void>;
  /**
   * Runs `listener` once when shutdown starts (graceful or forced), before the server stops accepting
   * connections: the place to turn health NOT_SERVING and end long-lived streams. A listener that throws
   * does not stop the shutdown.
   */
  onShutdown(listener: () => void): this;
  /** Resolves once the server has stopped; with a timeout, resolves false if it had not (reference: `wait_for_termination`). */
  waitForTermination(timeoutMs?: number): Promise<boolean>;
  /** Number of calls being served right now. */
  readonly activeCalls: number;
}

const DEFAULT_MAX_RECEIVE = 4 * 1024 * 1024;

export function createServer(options: ServerOptions = {}): Server & ServerInternals {
  // gRPC channel-argument names ("grpc.max_connection_age_ms") become typed fields; unknown ones throw.
  return new GrpcServer(normalizeServerOptions(options));
}

/** What the typed layer (addService) needs besides the public API. */
export interface ServerInternals {
  readonly router: Router;
}

class GrpcServer implements Server, ServerInternals {
  readonly router = new Router();
  private readonly listeners: ServerListener[] = [];
  private readonly calls = new Set<ServerCall>();
  private readonly callConfig: ServerCallConfig;
  private stopping: Promise<void> | undefined;
  private resolveTerminated!: () => void;
  private readonly terminated = new Promise<void>((resolve) => (this.resolveTerminated = resolve));
  private shuttingDown = false;
  private readonly shutdownListeners: Array<() => void> = [];
  private readonly maxConcurrentRpcs: number;
  /** Bytes held for incomplete request messages, server-wide. */
  readonly receiveBudget: ReceiveBudget;

  /** The interceptors composed around the handlers; undefined without interceptors (the direct path). */
  private readonly intercepted: ServerCallFn | undefined;

  constructor(private readonly options: ServerOptions) {
    this.intercepted = composeServerInterceptors(options.interceptors);
    if (options.compression !== undefined && options.compression !== "identity" && !getCompressor(options.compression)) {
      throw new Error(`unknown compression "${options.compression}"`);
    }
    this.maxConcurrentRpcs = options.maxConcurrentRpcs ?? Infinity;
    checkServerOptions(options);
    const maxReceiveMessageLength = options.maxReceiveMessageLength ?? DEFAULT_MAX_RECEIVE;
    this.receiveBudget = new ReceiveBudget(options.maxReceiveBufferBytes ?? defaultReceiveBudgetBytes(maxReceiveMessageLength));
    this.callConfig = {
      maxReceiveMessageLength,
      maxSendMessageLength: options.maxSendMessageLength ?? Infinity,
      defaultCompression: options.compression,
      receiveBudget: this.receiveBudget,
    };
  }

  get addresses(): readonly SocketAddress[] {
    return this.listeners.map((l) => l.address);
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  addService(service: DescService | ServiceDefinition, impl: object): this {
    const definition = isServiceDefinition(service) ? service : protobufService(service);
    for (const [path, handler] of methodHandlersOf(definition, impl as Record<string, unknown>)) this.router.add(path, handler);
    return this;
  }

  addMethod(path: string, handler: MethodHandler): this {
    this.router.add(path, handler);
    return this;
  }

  addGenericHandler(handler: GenericHandler): this {
    this.router.addGeneric(handler);
    return this;
  }

  async bind(address: string, credentials: ServerCredentials = ServerCredentials.insecure()): Promise<number> {
    if (this.shuttingDown) throw new Error("server is shut down");
    const addresses = parseBindAddress(address);
    let port = 0;
    for (const [index, requested] of addresses.entries()) {
      const target = "port" in requested && port !== 0 ? { ...requested, port } : requested;
      try {
        const listener = await listenHttp2(target, {
          ...this.options,
          tls: credentials.tls,
          localOnly: credentials.localOnly,
          onStream: (stream) => this.onStream(stream),
        });
        this.listeners.push(listener);
        if ("port" in listener.address) port = listener.address.port;
      } catch (err) {
        // "localhost" binds both loopbacks; a machine without IPv6 still serves IPv4.
        if (index === 0) throw err;
      }
    }
    return port;
  }

  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.stopping ??= this.stop(options.graceMs ?? Infinity);
    return this.stopping;
  }

  onShutdown(listener: () => void): this {
    this.shutdownListeners.push(listener);
    return this;
  }

  forceShutdown(): Promise<void> {
    const stopping = this.shutdown({ graceMs: 0 });
    this.cutOff();
    return stopping;
  }

  async waitForTermination(timeoutMs?: number): Promise<boolean> {
    if (timeoutMs === undefined) {
      await this.terminated;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.terminated.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  private onStream(stream: ServerTransportStream): void {
    if (this.shuttingDown) {
      refuse(stream, new RpcError(Code.UNAVAILABLE, "server is shutting down"));
      return;
    }
    if (this.receiveBudget.exhausted) {
      // Nothing was processed: REFUSED_STREAM tells the client so, and it may retry (RFC 9113 §8.7).
      stream.reset(Http2ErrorCode.REFUSED_STREAM);
      return;
    }
    const admission = admitRequest(stream);
    if (admission.kind === "http-error") {
      stream.respondHttpError(admission.status, admission.message);
      return;
    }
    if (admission.kind === "status") {
      refuse(stream, admission.error);
      return;
    }
    if (this.calls.size >= this.maxConcurrentRpcs) {
      refuse(stream, new RpcError(Code.RESOURCE_EXHAUSTED, `the server is at its limit of ${this.maxConcurrentRpcs} concurrent calls`));
      return;
    }
    const method = this.router.lookup(admission.head.path);
    if (!method) {
      refuse(stream, new RpcError(Code.UNIMPLEMENTED, `method ${admission.head.path} is not implemented`));
      return;
    }
    const call = new ServerCall(stream, admission.head, this.callConfig);
    this.calls.add(call);
    call.addEndCallback(() => this.calls.delete(call));
    if (this.intercepted) void runIntercepted(call, method, new CallContext(call), this.intercepted);
    else void runHandler(call, method, new CallContext(call));
  }

  private async stop(graceMs: number): Promise<void> {
    for (const listener of this.shutdownListeners) {
      try {
        listener();
      } catch (err) {
        process.emitWarning(`a server shutdown listener threw: ${(err as Error).message}`);
      }
    }
    this.shuttingDown = true;
    // Resolves once every connection has closed. Draining sessions close by themselves after their last
    // stream, trailers included: destroying them as soon as the last call finished would reset streams
    // whose trailers were still on their way.
    const closed = Promise.all(this.listeners.map((l) => l.stopAccepting()));
    for (const listener of this.listeners) listener.drainSessions();
    const timer = graceMs === Infinity ? undefined : setTimeout(() => this.cutOff(), graceMs);
    await closed;
    clearTimeout(timer);
    this.resolveTerminated();
  }

  /** End of the grace: cancel every running call, then drop every connection. */
  private cutOff(): void {
    for (const call of [...this.calls]) {
      call.abortWith(new RpcError(Code.UNAVAILABLE, "server is shutting down"), true);
    }
    // A Trailers-Only status is already on its way; trailers after messages may be cut off with the
    // connection, which clients report as UNAVAILABLE all the same.
    for (const listener of this.listeners) listener.destroySessions();
  }
}

function refuse(stream: ServerTransportStream, error: RpcError): void {
  stream.sendTrailers(buildTrailersOnly(
    { code: error.code, details: error.details, metadata: new Metadata() },
    new Metadata(),
    acceptEncodingHeader(),
  ));
}

/** Connection management and limits must be positive numbers (Infinity = no limit); a typo fails here. */
function checkServerOptions(options: ServerOptions): void {
  const names = [
    "maxConcurrentRpcs",
    "keepaliveTimeMs",
    "keepaliveTimeoutMs",
    "maxConnectionIdleMs",
    "maxConnectionAgeMs",
    "maxMetadataSize",
    "maxReceiveBufferBytes",
    "handshakeTimeoutMs",
  ] as const;
  for (const name of names) {
    const value = options[name];
    if (value !== undefined && !(typeof value === "number" && value > 0)) {
      throw new RangeError(`server option ${name} must be a positive number, got ${String(value)}`);
    }
  }
  for (const name of ["keepaliveMinTimeMs", "maxConnectionAgeGraceMs"] as const) {
    const value = options[name];
    if (value !== undefined && !(typeof value === "number" && value >= 0)) {
      throw new RangeError(`server option ${name} must be a number >= 0, got ${String(value)}`);
    }
  }
}
