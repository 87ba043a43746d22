import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { SocketAddress } from "../../transport/transport.js";
import { ConnectivityState } from "../connectivity-state.js";
import type { ResolverUpdate } from "../resolver/resolver.js";
import type { Subchannel, SubchannelListener } from "../subchannel/subchannel.js";
import type { Balancer, BalancerFactory, BalancerHelper } from "./balancer.js";
import { registerBalancer } from "./balancer-registry.js";
import { failPicker, idlePicker, queuePicker, subchannelPicker } from "./picker.js";

/**
 * pick_first: the addresses in order until one connects, then every call goes there. When that
 * connection goes away the policy is IDLE and reconnects on the next call; when every address failed it
 * is TRANSIENT_FAILURE until the first address's backoff has passed, and then walks the list again
 * (CONNECTING). The channel is not kept in TRANSIENT_FAILURE while it reconnects (gRFC A62's sticky
 * TRANSIENT_FAILURE): doc/connectivity-semantics-and-api.md's TRANSIENT_FAILURE → CONNECTING is what
 * channels show today, and tests watch it.
 */
export class PickFirst implements Balancer {
  private subchannels: Subchannel[] = [];
  private addressesKey: string | undefined;
  /** The subchannel being tried in a walk over the list, or -1 when not walking. */
  private index = -1;
  private selected: Subchannel | undefined;
  private state = ConnectivityState.IDLE;
  private lastError: Error | undefined;
  private closed = false;
  private readonly onSubchannelState: SubchannelListener = (subchannel, state) => this.subchannelChanged(subchannel, state);

  constructor(private readonly helper: BalancerHelper) {}

  update(update: ResolverUpdate): void {
    if (this.closed) return;
    const addresses: SocketAddress[] = update.endpoints.flat();
    const key = JSON.stringify(addresses);
    if (key === this.addressesKey && addresses.length > 0) return;
    this.addressesKey = key;
    for (const subchannel of this.subchannels) if (subchannel !== this.selected) this.drop(subchannel);
    const keep = this.selected !== undefined && addresses.some((a) => sameAddress(a, this.selected!.address)) ? this.selected : undefined;
    if (this.selected && !keep) this.drop(this.selected);
    this.selected = keep;
    this.subchannels = addresses.map((address) => {
      if (keep && sameAddress(address, keep.address)) return keep;
      const subchannel = this.helper.createSubchannel(address);
      subchannel.watch(this.onSubchannelState);
      return subchannel;
    });
    if (addresses.length === 0) {
      this.index = -1;
      this.publishFailure(new Error(`target "${this.helper.target}" resolved to no address`));
      return;
    }
    if (!keep) this.startWalk();
  }

  resolverError(error: Error): void {
    if (this.closed || this.state === ConnectivityState.READY || this.index >= 0) return;
    if (this.subchannels.length === 0) this.publishFailure(error);
  }

  exitIdle(): void {
    if (this.closed || this.state !== ConnectivityState.IDLE || this.selected || this.index >= 0) return;
    if (this.subchannels.length > 0) this.startWalk();
  }

  close(graceful: boolean): void {
    this.closed = true;
    for (const subchannel of this.subchannels) {
      subchannel.unwatch(this.onSubchannelState);
      subchannel.shutdown(graceful);
    }
    this.subchannels = [];
    this.selected = undefined;
  }

  private startWalk(): void {
    this.index = 0;
    this.publish(ConnectivityState.CONNECTING, queuePicker);
    this.tryCurrent();
  }

  /** The walk goes on from `index`: connect it, or skip it while it waits out a backoff. */
  private tryCurrent(): void {
    while (this.index >= 0 && this.index < this.subchannels.length) {
      const index = this.index;
      const subchannel = this.subchannels[index]!;
      if (subchannel.state === ConnectivityState.READY) {
        this.select(subchannel);
        return;
      }
      if (subchannel.state === ConnectivityState.IDLE) {
        subchannel.connect();
        // Connecting, or its listener already moved the walk on (a failure reported at once).
        if ((subchannel.state as ConnectivityState) === ConnectivityState.CONNECTING || this.index !== index) return;
      }
      if (subchannel.state === ConnectivityState.CONNECTING) return;
      this.lastError = subchannel.lastError ?? this.lastError;
      this.index++;
    }
    if (this.index < 0) return;
    this.index = -1;
    this.publishFailure(this.lastError ?? new Error("connection failed"));
  }

  private subchannelChanged(subchannel: Subchannel, state: ConnectivityState): void {
    if (this.closed) return;
    switch (state) {
      case ConnectivityState.READY:
        if (this.selected === undefined || this.selected === subchannel) this.select(subchannel);
        break;
      case ConnectivityState.TRANSIENT_FAILURE:
        if (this.index >= 0 && this.subchannels[this.index] === subchannel) {
          this.lastError = subchannel.lastError;
          this.index++;
          this.tryCurrent();
        }
        break;
      case ConnectivityState.IDLE:
        if (subchannel === this.selected) {
          // The connection went away: IDLE, and the next call connects again (from the first address).
          this.selected = undefined;
          this.helper.requestReresolution();
          this.publish(ConnectivityState.IDLE, idlePicker(() => this.exitIdle()));
        } else if (this.state === ConnectivityState.TRANSIENT_FAILURE && this.index < 0) {
          // A backoff has passed: try the list again.
          this.startWalk();
        }
        break;
      default:
        break;
    }
  }

  private select(subchannel: Subchannel): void {
    this.index = -1;
    this.selected = subchannel;
    this.lastError = undefined;
    this.publish(ConnectivityState.READY, subchannelPicker(subchannel));
  }

  private publishFailure(error: Error): void {
    this.lastError = error;
    const status = new RpcError(Code.UNAVAILABLE, `failed to connect to ${this.helper.target}: ${error.message}`);
    this.publish(ConnectivityState.TRANSIENT_FAILURE, failPicker(status));
    this.helper.requestReresolution();
  }

  private publish(state: ConnectivityState, picker: Parameters<BalancerHelper["updateState"]>[1]): void {
    this.state = state;
    this.helper.updateState(state, picker);
  }

  private drop(subchannel: Subchannel): void {
    subchannel.unwatch(this.onSubchannelState);
    subchannel.shutdown(true);
  }
}

export function sameAddress(a: SocketAddress, b: SocketAddress): boolean {
  if ("path" in a || "path" in b) return "path" in a && "path" in b && a.path === b.path && (a.abstract ?? false) === (b.abstract ?? false);
  return a.host === b.host && a.port === b.port;
}

export const pickFirst: BalancerFactory = { name: "pick_first", create: (helper) => new PickFirst(helper) };
registerBalancer(pickFirst);
