// Name resolution: targets, resolvers by scheme, the built-in schemes.
import "./builtin-resolvers.js";

export { registerResolver, type Resolver } from "./register-resolver.js";
export type { Target } from "./target.js";
