export { Code, codeName, isKnownCode } from "./code.js";
export { Metadata, isBinaryKey, type MetadataInit, type MetadataValue } from "./metadata.js";
export { RpcError } from "./rpc-error.js";
export { type Status, okStatus, statusFromError, errorFromStatus } from "./status.js";
export { type Deadline, resolveDeadline, timeRemaining, onDeadline } from "./deadline.js";
export {
  type MethodKind,
  type MethodDefinition,
  type Serializer,
  type Deserializer,
  clientStreams,
  serverStreams,
  passThrough,
} from "./method.js";
export { mapRequests, mapResponses } from "./map-messages.js";
