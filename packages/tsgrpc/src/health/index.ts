// tsgrpc/health: the standard health service (grpc.health.v1), built on the public API only.
export { addHealthService } from "./add-health-service.js";
export { createHealthService, ServingStatus, type HealthService, type ServingStatusInit } from "./health-service.js";
export {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "./gen/grpc/health/v1/health_pb.js";
