// Service config: parsed and validated once.
export { parseServiceConfig, type ServiceConfig } from "./service-config.js";
