import type { Metadata } from "../../core/metadata.js";
import type { RpcError } from "../../core/rpc-error.js";
import type { Subchannel } from "../subchannel/subchannel.js";

/** What a picker sees of a call. */
export interface PickArgs {
  /** "/package.Service/Method". */
  readonly path: string;
  readonly metadata: Metadata;
}

/**
 * A pick: go to this subchannel (`complete`), wait for the policy's next picker (`queue`), or fail.
 * A failed pick ends a fail-fast call with `error`; a wait-for-ready call waits for the next picker.
 * `drop` ends the call with `error` whatever its wait-for-ready.
 */
export type PickResult =
  | { readonly type: "complete"; readonly subchannel: Subchannel }
  | { readonly type: "queue" }
  | { readonly type: "fail"; readonly error: RpcError }
  | { readonly type: "drop"; readonly error: RpcError };

/**
 * Chooses where each call goes (grpc-go's balancer.Picker). A policy publishes a new picker with every
 * state change; calls that were queued pick again on the new one. `pick` runs once per call attempt,
 * so it should not allocate.
 */
export interface Picker {
  pick(args: PickArgs): PickResult;
}

export const QUEUE: PickResult = { type: "queue" };

/** Every call waits: the policy is connecting. */
export const queuePicker: Picker = { pick: () => QUEUE };

/** Every call fails (fail-fast) or waits (wait-for-ready) with `error`. */
export function failPicker(error: RpcError): Picker {
  const result: PickResult = { type: "fail", error };
  return { pick: () => result };
}

/** Every call goes to `subchannel` (pick_first once connected). */
export function subchannelPicker(subchannel: Subchannel): Picker {
  const result: PickResult = { type: "complete", subchannel };
  return { pick: () => result };
}

/**
 * Calls wait, and the first one wakes the policy up (`exitIdle`): an IDLE policy connects on demand. The
 * policy may publish a new picker inside that call; a caller that sees the picker change under it picks
 * again (balanced-call.ts).
 */
export function idlePicker(exitIdle: () => void): Picker {
  let woken = false;
  return {
    pick: () => {
      if (!woken) {
        woken = true;
        exitIdle();
      }
      return QUEUE;
    },
  };
}
