export {
  type ServiceDefinition,
  type RequestOf,
  type ResponseOf,
  type RequestInitOf,
  type ResponseInitOf,
  protobufService,
  protobufMethod,
  isServiceDefinition,
} from "./service-definition.js";
