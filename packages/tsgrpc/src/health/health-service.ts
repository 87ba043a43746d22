// Built on tsgrpc's public API only (the package barrel), as any other service would be.
import { Code, RpcError, type ServiceImplementation } from "../index.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { StatusWatch } from "./status-watch.js";

export { ServingStatus };

/** A status as `setStatus` takes it: the enum value or its name. */
export type ServingStatusInit = ServingStatus | "SERVING" | "NOT_SERVING" | "UNKNOWN";

/**
 * The health of a server's services (grpc.health.v1, gRPC's health-checking protocol and gRFC A17): what
 * `Check` answers and `Watch` streams. The empty service name "" stands for the whole server and starts
 * SERVING; every other name is unknown until it is set.
 */
export interface HealthService {
  /** Sets the status of `service` ("" for the whole server); watchers of it are told at once. */
  setStatus(service: string, status: ServingStatusInit): void;
  /** The status of `service`, or undefined while it is unknown. */
  getStatus(service: string): ServingStatus | undefined;
  /** Forgets `service`: Check answers NOT_FOUND again, watchers see SERVICE_UNKNOWN. */
  clearStatus(service: string): void;
  /**
   * Every service NOT_SERVING, and further `setStatus` calls ignored until `resume()`; open Watch streams
   * get the NOT_SERVING and then end, so they do not hold a graceful shutdown open. `addHealthService`
   * calls this when the server starts shutting down.
   */
  enterShutdown(): void;
  /** Undoes `enterShutdown`: `setStatus` takes effect again (statuses stay as they are until set). */
  resume(): void;
  /** The handlers for `server.addService(Health, health.implementation)`. */
  readonly implementation: ServiceImplementation<typeof Health>;
}

const STATUS_BY_NAME = {
  UNKNOWN: ServingStatus.UNKNOWN,
  SERVING: ServingStatus.SERVING,
  NOT_SERVING: ServingStatus.NOT_SERVING,
} as const;

function toStatus(status: ServingStatusInit): ServingStatus {
  const value = typeof status === "string" ? STATUS_BY_NAME[status] : status;
  // SERVICE_UNKNOWN is what Watch says of a name that has no status; it is never a status of its own.
  if (value === undefined || value === ServingStatus.SERVICE_UNKNOWN || ServingStatus[value] === undefined) {
    throw new RangeError(`not a serving status to set: ${String(status)} (use SERVING, NOT_SERVING or UNKNOWN)`);
  }
  return value;
}

export function createHealthService(): HealthService {
  const statuses = new Map<string, ServingStatus>([["", ServingStatus.SERVING]]);
  const watches = new Map<string, Set<StatusWatch<ServingStatus>>>();
  let shutDown = false;

  const current = (service: string): ServingStatus => statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
  const notify = (service: string): void => {
    for (const watch of watches.get(service) ?? []) watch.push(current(service));
  };

  const implementation: ServiceImplementation<typeof Health> = {
    check(request) {
      const status = statuses.get(request.service);
      if (status === undefined) throw new RpcError(Code.NOT_FOUND, `unknown service "${request.service}"`);
      return { status };
    },
    async *watch(request, ctx) {
      const service = request.service;
      const watch = new StatusWatch<ServingStatus>(current(service));
      if (shutDown) watch.close();
      let set = watches.get(service);
      if (!set) watches.set(service, (set = new Set()));
      set.add(watch);
      const stop = (): void => watch.close();
      ctx.signal.addEventListener("abort", stop);
      try {
        for await (const status of watch) yield { status };
      } finally {
        ctx.signal.removeEventListener("abort", stop);
        set.delete(watch);
        if (set.size === 0) watches.delete(service);
      }
    },
  };

  return {
    implementation,
    setStatus(service, status) {
      const value = toStatus(status);
      if (shutDown) return;
      statuses.set(service, value);
      notify(service);
    },
    getStatus: (service) => statuses.get(service),
    clearStatus(service) {
      if (shutDown || !statuses.delete(service)) return;
      notify(service);
    },
    enterShutdown() {
      shutDown = true;
      for (const service of statuses.keys()) statuses.set(service, ServingStatus.NOT_SERVING);
      for (const [service, set] of watches) {
        for (const watch of set) {
          watch.push(current(service));
          watch.close();
        }
      }
    },
    resume() {
      shutDown = false;
    },
  };
}
