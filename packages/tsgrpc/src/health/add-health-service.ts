import type { Server } from "../index.js";
import { Health } from "./gen/grpc/health/v1/health_pb.js";
import { createHealthService, type HealthService } from "./health-service.js";

/**
 * Serves grpc.health.v1.Health on `server` and returns the object that sets its statuses: the whole
 * server ("") starts SERVING, each service is unknown until `setStatus`. When the server starts shutting
 * down, every status turns NOT_SERVING (Watch streams are told, then ended) before it stops accepting,
 * so load balancers and Kubernetes probes see it leave before its connections close.
 *
 *   const health = addHealthService(server);
 *   health.setStatus("routeguide.RouteGuide", "SERVING");
 */
export function addHealthService(server: Server, health: HealthService = createHealthService()): HealthService {
  server.addService(Health, health.implementation);
  server.onShutdown(() => health.enterShutdown());
  return health;
}
