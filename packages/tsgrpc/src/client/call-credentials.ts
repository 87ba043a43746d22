import { Metadata, type MetadataInit } from "../core/metadata.js";

/**
 * What a metadata plugin learns about the call it authenticates (reference: `AuthMetadataContext`).
 */
export interface AuthMetadataContext {
  /** "https://host[:port]/package.Service": the audience a token is usually minted for (`service_url`). */
  readonly serviceUrl: string;
  /** The method's own name, e.g. "GetFeature" (`method_name`). */
  readonly methodName: string;
  /** Aborted when the call ends first (cancelled, deadline): a plugin may stop fetching then. */
  readonly signal: AbortSignal;
}

/**
 * Makes the metadata for one call (reference: `AuthMetadataPlugin`). It is called once for every call,
 * after a connection has been picked and before the request goes out. Return (or resolve to) the metadata
 * to add; throw (or reject) to fail the call: UNAUTHENTICATED with the error's message, or, for an
 * RpcError, its own code (unless that code is one the library never produces, then INTERNAL).
 */
export type MetadataPlugin = (context: AuthMetadataContext) => MetadataInit | undefined | Promise<MetadataInit | undefined>;

/**
 * Credentials that assert an identity on each call (reference: `grpc.CallCredentials`), sent as
 * request metadata. Use them per call (`CallOptions.credentials`) or for every call of a channel
 * (`ChannelCredentials.compose`). They are only ever sent on a TLS or local channel: on any other a
 * call that carries them fails UNAUTHENTICATED.
 */
export interface CallCredentials {
  /** The plugins in order; composed credentials are the concatenation. */
  readonly plugins: readonly NamedPlugin[];
}

export interface NamedPlugin {
  readonly name: string;
  readonly plugin: MetadataPlugin;
}

export const CallCredentials = {
  /** Credentials from a metadata plugin (reference: `metadata_call_credentials(plugin, name)`). */
  fromMetadataPlugin(plugin: MetadataPlugin, name?: string): CallCredentials {
    if (typeof plugin !== "function") throw new TypeError("a metadata plugin must be a function");
    return { plugins: [{ name: name ?? (plugin.name || "metadata plugin"), plugin }] };
  },

  /** `authorization: Bearer <token>` on every call (reference: `access_token_call_credentials`). */
  accessToken(token: string): CallCredentials {
    if (typeof token !== "string" || token.length === 0) throw new TypeError("an access token must be a non-empty string");
    // Validated here, so that a token with a newline fails where it was made, not on every call.
    const header = new Metadata({ authorization: `Bearer ${token}` });
    return { plugins: [{ name: "access token", plugin: () => header }] };
  },

  /**
   * Several credentials as one: every plugin runs for each call, and their metadata is sent together,
   * in this order (reference: `composite_call_credentials`).
   */
  compose(...credentials: CallCredentials[]): CallCredentials {
    if (credentials.length === 0) throw new TypeError("compose needs at least one CallCredentials");
    return { plugins: credentials.flatMap((c) => c.plugins) };
  },
};
