/**
 * A service config (grpc/grpc doc/service_config.md), parsed and checked once. Only the load-balancing
 * choice is read so far; other fields are accepted and ignored until the features that use them land.
 */
export interface ServiceConfig {
  /** The policies in order of preference, each `{ name: config }`; the first one registered is used. */
  readonly loadBalancingConfig: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Client-side health checking (gRFC A17): the service name to watch on each backend. */
  readonly healthCheckConfig?: { readonly serviceName: string };
}

/**
 * Parses a service config given as JSON text (the `grpc.service_config` channel option) or as an object
 * already parsed. Throws a TypeError saying what is wrong.
 */
export function parseServiceConfig(input: unknown): ServiceConfig {
  let json = input;
  if (typeof input === "string") {
    try {
      json = JSON.parse(input);
    } catch (err) {
      throw new TypeError(`the service config is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`a service config is a JSON object, got ${json === null ? "null" : Array.isArray(json) ? "an array" : typeof json}`);
  }
  const record = json as Record<string, unknown>;
  const lb = record.loadBalancingConfig;
  const loadBalancingConfig: Array<Record<string, unknown>> = [];
  if (lb !== undefined) {
    if (!Array.isArray(lb)) throw new TypeError("the service config's loadBalancingConfig is not an array");
    for (const [index, entry] of lb.entries()) {
      const keys = typeof entry === "object" && entry !== null && !Array.isArray(entry) ? Object.keys(entry) : [];
      if (keys.length !== 1) {
        throw new TypeError(`loadBalancingConfig[${index}] must be an object with exactly one policy name, like {"round_robin": {}}`);
      }
      const config = (entry as Record<string, unknown>)[keys[0]!];
      if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new TypeError(`loadBalancingConfig[${index}].${keys[0]} must be an object (its policy's config)`);
      }
      loadBalancingConfig.push(entry as Record<string, unknown>);
    }
  }
  const policy = record.loadBalancingPolicy;
  if (policy !== undefined) {
    if (typeof policy !== "string") throw new TypeError("the service config's loadBalancingPolicy is not a string");
    // The older field, used only when loadBalancingConfig is absent; names are upper case there.
    if (lb === undefined) loadBalancingConfig.push({ [policy.toLowerCase()]: {} });
  }
  const health = record.healthCheckConfig;
  if (health === undefined) return { loadBalancingConfig };
  if (typeof health !== "object" || health === null || Array.isArray(health)) {
    throw new TypeError("the service config's healthCheckConfig is not an object");
  }
  const serviceName = (health as Record<string, unknown>).serviceName ?? "";
  if (typeof serviceName !== "string") throw new TypeError("the service config's healthCheckConfig.serviceName is not a string");
  return { loadBalancingConfig, healthCheckConfig: { serviceName } };
}
