export {
  type ServiceDefinition,
  type RequestOf,
  type ResponseOf,
  type RequestInitOf,
  type ResponseInitOf,
  type DynamicMessage,
  type DynamicMessageInit,
  protobufService,
  protobufMethod,
  isServiceDefinition,
} from "./service-definition.js";
