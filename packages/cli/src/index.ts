// The tsgrpc command as a library: what `tsgrpc generate` does, callable from a build script.
export { main } from "./main.js";
export { generate } from "./generate.js";
export { parseGenerateArgs, UsageError, type GenerateArgs } from "./args.js";
