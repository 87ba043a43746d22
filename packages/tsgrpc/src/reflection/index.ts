// tsgrpc/reflection: gRPC server reflection (grpc.reflection.v1 and v1alpha). The generated schemas are
// exported for clients of the service (the tsgrpc CLI is one); v1alpha's under the V1alpha prefix.
export {
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  ExtensionRequestSchema,
  FileDescriptorResponseSchema,
  ExtensionNumberResponseSchema,
  ListServiceResponseSchema,
  ServiceResponseSchema,
  ErrorResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  type ExtensionRequest,
  type FileDescriptorResponse,
  type ExtensionNumberResponse,
  type ListServiceResponse,
  type ServiceResponse,
  type ErrorResponse,
} from "./gen/grpc/reflection/v1/reflection_pb.js";
export {
  ServerReflection as V1alphaServerReflection,
  ServerReflectionRequestSchema as V1alphaServerReflectionRequestSchema,
  ServerReflectionResponseSchema as V1alphaServerReflectionResponseSchema,
} from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
