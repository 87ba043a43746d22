import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { SocketAddress } from "../../transport/transport.js";
import { ConnectivityState } from "../connectivity-state.js";
import type { ResolverUpdate } from "../resolver/resolver.js";
import type { Subchannel, SubchannelListener } from "../subchannel/subchannel.js";
import type { Balancer, BalancerFactory, BalancerHelper } from "./balancer.js";
import { registerBalancer } from "./balancer-registry.js";
import { sameAddress } from "./pick-first.js";
import { failPicker, queuePicker, type Picker, type PickResult } from "./picker.js";

/**
 * round_robin: a subchannel per address, all connected at once; calls go to the READY ones in turn. A
 * subchannel that fails reconnects when its backoff has passed (it is IDLE again), one whose connection
 * went away reconnects at once. The channel is READY while any subchannel is, CONNECTING while any is
 * still trying, TRANSIENT_FAILURE when all have failed.
 */
export class RoundRobin implements Balancer {
  private subchannels: Subchannel[] = [];
  private closed = false;
  /** The READY subchannels of the picker last published, to publish only on a change. */
  private published: string | undefined;
  private readonly onSubchannelState: SubchannelListener = (subchannel, state) => this.subchannelChanged(subchannel, state);

  constructor(private readonly helper: BalancerHelper) {}

  update(update: ResolverUpdate): void {
    if (this.closed) return;
    const addresses: SocketAddress[] = update.endpoints.flat();
    const old = this.subchannels;
    this.subchannels = addresses.map((address) => {
      const kept = old.find((s) => sameAddress(s.address, address));
      if (kept) return kept;
      const subchannel = this.helper.createSubchannel(address);
      subchannel.watch(this.onSubchannelState);
      return subchannel;
    });
    for (const subchannel of old) {
      if (this.subchannels.includes(subchannel)) continue;
      subchannel.unwatch(this.onSubchannelState);
      subchannel.shutdown(true);
    }
    this.published = undefined;
    for (const subchannel of this.subchannels) subchannel.connect();
    this.publish();
  }

  resolverError(error: Error): void {
    if (this.closed || this.subchannels.length > 0) return;
    this.fail(error);
  }

  exitIdle(): void {
    for (const subchannel of this.subchannels) subchannel.connect();
  }

  close(graceful: boolean): void {
    this.closed = true;
    for (const subchannel of this.subchannels) {
      subchannel.unwatch(this.onSubchannelState);
      subchannel.shutdown(graceful);
    }
    this.subchannels = [];
  }

  private subchannelChanged(subchannel: Subchannel, state: ConnectivityState): void {
    if (this.closed) return;
    // IDLE: its backoff has passed, or its connection went away: connect again.
    if (state === ConnectivityState.IDLE) subchannel.connect();
    this.publish();
  }

  /** The aggregate state, and a picker over the READY subchannels, when either changed. */
  private publish(): void {
    if (this.closed) return;
    const ready = this.subchannels.filter((s) => s.state === ConnectivityState.READY);
    if (ready.length > 0) {
      const key = `ready:${ready.map(String).join(",")}`;
      if (key === this.published) return;
      this.published = key;
      this.helper.updateState(ConnectivityState.READY, roundRobinPicker(ready));
      return;
    }
    if (this.subchannels.length === 0) {
      this.fail(new Error(`target "${this.helper.target}" resolved to no address`));
      return;
    }
    const trying = this.subchannels.some((s) => s.state === ConnectivityState.CONNECTING || s.state === ConnectivityState.IDLE);
    if (trying) {
      if (this.published === "connecting") return;
      this.published = "connecting";
      this.helper.updateState(ConnectivityState.CONNECTING, queuePicker);
      return;
    }
    const lastError = this.subchannels.find((s) => s.lastError)?.lastError ?? new Error("connection failed");
    this.fail(lastError);
  }

  private fail(error: Error): void {
    if (this.published === "failed") return;
    this.published = "failed";
    const status = new RpcError(Code.UNAVAILABLE, `failed to connect to ${this.helper.target}: ${error.message}`);
    this.helper.updateState(ConnectivityState.TRANSIENT_FAILURE, failPicker(status));
    this.helper.requestReresolution();
  }
}

/** The READY subchannels in turn, from a random one (so that many clients do not all start on the first). */
function roundRobinPicker(ready: readonly Subchannel[]): Picker {
  const results: PickResult[] = ready.map((subchannel) => ({ type: "complete", subchannel }));
  let next = Math.floor(Math.random() * results.length);
  return {
    pick: () => {
      const result = results[next]!;
      next = (next + 1) % results.length;
      return result;
    },
  };
}

export const roundRobin: BalancerFactory = { name: "round_robin", create: (helper) => new RoundRobin(helper) };
registerBalancer(roundRobin);
