import { Code } from "../../core/code.js";
import { Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { CallCredentials, NamedPlugin } from "../call-credentials.js";
import { allowsCallCredentials } from "../channel-credentials.js";
import type { ChannelCore } from "../internal/channel-core.js";

export interface CredentialsOutcome {
  /** Every plugin answered: the call goes out with `metadata` (the call's own plus the plugins'). */
  onReady(metadata: Metadata): void;
  /** A plugin failed, or the channel may not carry call credentials: the call ends with `error`. */
  onFailed(error: RpcError): void;
}

/**
 * Runs the call credentials of a call — the channel's (composed into its ChannelCredentials), then the
 * call's own — and reports the request metadata to send. Returns undefined when there are none, so the
 * call goes on at once; otherwise a function that abandons the plugins (their `signal` aborts) for a call
 * that ends first. Plugins run concurrently; their metadata is added in order after the call's own.
 */
export function applyCallCredentials(
  host: ChannelCore,
  callCredentials: CallCredentials | undefined,
  path: string,
  metadata: Metadata,
  outcome: CredentialsOutcome,
): (() => void) | undefined {
  const channelCredentials = host.credentials;
  const channelPlugins = channelCredentials?.callCredentials?.plugins;
  // The common case, no call credentials at all, costs no allocation.
  if (!channelPlugins?.length && !callCredentials?.plugins.length) return undefined;
  const plugins = [...(channelPlugins ?? []), ...(callCredentials?.plugins ?? [])];
  if (!allowsCallCredentials(channelCredentials)) {
    outcome.onFailed(new RpcError(Code.UNAUTHENTICATED,
      "call credentials are only sent on a secure channel (TLS or local credentials); this channel is insecure"));
    return () => {};
  }
  const controller = new AbortController();
  const context = { ...authMetadataContext(host, path), signal: controller.signal };
  Promise.all(plugins.map((p) => runPlugin(p, context))).then(
    (results) => {
      if (controller.signal.aborted) return;
      const merged = metadata.clone();
      for (const result of results) if (result) merged.merge(result);
      outcome.onReady(merged);
    },
    (error: RpcError) => {
      if (!controller.signal.aborted) outcome.onFailed(error);
    },
  );
  return () => controller.abort(new RpcError(Code.CANCELLED, "call ended before its credentials were ready"));
}

/** One plugin's metadata, validated; any failure becomes the status the call ends with. */
async function runPlugin(entry: NamedPlugin, context: Parameters<NamedPlugin["plugin"]>[0]): Promise<Metadata | undefined> {
  let answer: Awaited<ReturnType<NamedPlugin["plugin"]>>;
  try {
    answer = await entry.plugin(context);
  } catch (err) {
    throw pluginError(err);
  }
  if (answer === undefined) return undefined;
  try {
    return Metadata.from(answer);
  } catch (err) {
    throw new RpcError(Code.UNAUTHENTICATED, `call credentials "${entry.name}" returned invalid metadata: ${(err as Error).message}`);
  }
}

/**
 * A plugin's error as a status: an RpcError keeps its code unless it is one the library itself never
 * produces (gRFC A54: such a code from the control plane becomes INTERNAL); anything else is
 * UNAUTHENTICATED with the error's message.
 */
function pluginError(err: unknown): RpcError {
  if (err instanceof RpcError) {
    if (!ILLEGAL_CONTROL_PLANE_CODES.has(err.code)) return err;
    return new RpcError(Code.INTERNAL, `call credentials failed with an illegal status code ${err.code}: ${err.details}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new RpcError(Code.UNAUTHENTICATED, message);
}

const ILLEGAL_CONTROL_PLANE_CODES = new Set<Code>([
  Code.OK,
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.ALREADY_EXISTS,
  Code.FAILED_PRECONDITION,
  Code.ABORTED,
  Code.OUT_OF_RANGE,
  Code.DATA_LOSS,
]);

/**
 * `service_url` and `method_name` as gRPC's core library makes them: the scheme, the call's authority
 * (without a default :443) and the service part of the path; the method's own name.
 */
export function authMetadataContext(host: Pick<ChannelCore, "scheme" | "authority">, path: string): { serviceUrl: string; methodName: string } {
  const slash = path.lastIndexOf("/");
  const service = slash > 0 ? path.slice(0, slash) : "";
  const methodName = path.slice(slash + 1);
  const authority = host.scheme === "https" && host.authority.endsWith(":443") ? host.authority.slice(0, -4) : host.authority;
  return { serviceUrl: `${host.scheme}://${authority}${service}`, methodName };
}
