import { getResolverFactory, registeredSchemes } from "./resolver-registry.js";
import type { ResolverFactory } from "./resolver.js";
import { parseTarget, type Target } from "./target.js";
import { BUILT_IN_FORMS, BUILT_IN_SCHEMES } from "./builtin-resolvers.js";

/** The target forms a channel takes, for error messages: the built-in ones and every registered scheme. */
export function acceptedTargetForms(): string {
  const custom = [...registeredSchemes()].filter((scheme) => !BUILT_IN_SCHEMES.has(scheme)).map((scheme) => `${scheme}:...`);
  return [...BUILT_IN_FORMS, ...custom].join(", ");
}

/** `scheme://` at the start: a URL, or a target with an authority. */
const URL_LIKE = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Parses and checks a channel target, and finds its resolver factory: what createChannel does before
 * anything else. Throws a TypeError (a RangeError for a port out of range) naming the target, what is
 * wrong with it and the accepted forms. The syntax of each scheme is its resolver's to check
 * (`validate`), so a registered resolver decides what its own targets look like.
 */
export function resolveTarget(text: string): { target: Target; factory: ResolverFactory } {
  if (typeof text !== "string") throw new TypeError(`a channel target is a string, got ${text === null ? "null" : typeof text}`);
  if (text.trim() === "") throw invalid(text, new TypeError("the target is empty"));
  const target = parseTarget(text, registeredSchemes());
  const url = URL_LIKE.exec(text);
  // A scheme that no resolver is registered for falls back to DNS (naming.md); with "//" after it the
  // text is a URL, never a host name, so say what it should have been.
  if (url && target.scheme === "dns" && url[1]!.toLowerCase() !== "dns") throw invalid(text, new TypeError(urlProblem(text, url[0], url[1]!.toLowerCase())));
  const factory = getResolverFactory(target.scheme);
  if (!factory) throw invalid(text, new TypeError(`no resolver is registered for scheme "${target.scheme}"`));
  try {
    factory.validate?.(target);
  } catch (err) {
    throw invalid(text, err);
  }
  return { target, factory };
}

function invalid(text: string, reason: unknown): TypeError | RangeError {
  const why = reason instanceof Error ? reason.message : String(reason);
  const message = `invalid channel target "${text}": ${why}. Accepted forms: ${acceptedTargetForms()}`;
  return reason instanceof RangeError ? new RangeError(message, { cause: reason }) : new TypeError(message, { cause: reason });
}

function urlProblem(text: string, prefix: string, scheme: string): string {
  if (scheme !== "http" && scheme !== "https") return `unknown scheme "${scheme}" (no resolver is registered for it)`;
  // What the URL names, as host:port, with the port the URL implies when it has none.
  let hostPort = text.slice(prefix.length).split(/[/?#]/)[0]!;
  hostPort = hostPort.slice(hostPort.lastIndexOf("@") + 1);
  const hasPort = /^\[.*\]:\d*$/.test(hostPort) || (!hostPort.startsWith("[") && hostPort.includes(":"));
  if (!hasPort) hostPort = `${hostPort || "host"}:${scheme === "https" ? 443 : 80}`;
  return scheme === "http"
    ? `a channel target is not a URL: write "${hostPort}" (plaintext is the default: createChannel("${hostPort}"))`
    : `a channel target is not a URL: write "${hostPort}" and pass TLS credentials for https: createChannel("${hostPort}", ChannelCredentials.tls())`;
}
