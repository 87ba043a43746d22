import type { SocketAddress } from "../../transport/transport.js";
import type { ConnectivityState } from "../connectivity-state.js";
import type { ResolverUpdate } from "../resolver/resolver.js";
import type { Subchannel } from "../subchannel/subchannel.js";
import type { Picker } from "./picker.js";

/**
 * A load-balancing policy (grpc-go's balancer.Balancer, grpc-js's LoadBalancer): it gets what the
 * resolver found, makes subchannels through its helper, watches them, and publishes the channel's
 * connectivity state together with the picker that places calls.
 */
export interface Balancer {
  /** New resolver results, with this policy's own config from the service config. */
  update(update: ResolverUpdate, config: Readonly<Record<string, unknown>>): void;
  /** Resolution failed; a policy with working subchannels may keep using them. */
  resolverError(error: Error): void;
  /** A call is waiting (or the user asked to connect): leave IDLE. */
  exitIdle(): void;
  /** The channel went idle or closed: drop every subchannel (`graceful`: calls on them may finish). */
  close(graceful: boolean): void;
}

/** What a policy may ask of its channel. */
export interface BalancerHelper {
  /** The channel's target, for messages. */
  readonly target: string;
  createSubchannel(address: SocketAddress): Subchannel;
  /** Publishes the channel's state and the picker for calls in that state. */
  updateState(state: ConnectivityState, picker: Picker): void;
  /** The policy thinks the addresses are stale (connections failed): ask the resolver again. */
  requestReresolution(): void;
}

/** Makes a policy; registered by name (balancer-registry.ts). */
export interface BalancerFactory {
  /** The name in a service config's loadBalancingConfig: "pick_first", "round_robin". */
  readonly name: string;
  create(helper: BalancerHelper): Balancer;
}
