// The public API of tsgrpc. Everything a user needs is exported from here; the layer folders keep
// their own barrels for the few who want a narrower import.
export * from "./core/index.js";
export * from "./protobuf/index.js";
export * from "./server/index.js";
export * from "./client/index.js";
export { type Compressor, type CompressionName, registerCompressor } from "./protocol/compression.js";
export { createPushable, type Pushable } from "./internal/pushable.js";
