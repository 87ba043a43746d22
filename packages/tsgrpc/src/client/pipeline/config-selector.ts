import type { Deadline } from "../../core/deadline.js";

/**
 * The config of one method, as a service config's methodConfig would give it (doc/service_config.md).
 * Each field, when present, combines with the call's options: the earlier deadline wins; waitForReady
 * applies when the call does not choose.
 */
export interface MethodConfig {
  readonly timeoutMs?: number;
  readonly waitForReady?: boolean;
}

/**
 * Chooses the config of each call by its method (grpc-go's iresolver.ConfigSelector): the first layer
 * under the interceptors. Until service configs carry methodConfig, every method gets the empty config.
 */
export interface ConfigSelector {
  select(path: string): MethodConfig;
}

const EMPTY: MethodConfig = Object.freeze({});

export const defaultConfigSelector: ConfigSelector = { select: () => EMPTY };

/** The call's deadline with the method's timeout applied (the earlier one). */
export function applyMethodTimeout(deadline: Deadline, config: MethodConfig): Deadline {
  return config.timeoutMs === undefined ? deadline : Math.min(deadline, Date.now() + config.timeoutMs);
}
