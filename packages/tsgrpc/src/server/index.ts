export { createServer, type Server, type ServerOptions, type ShutdownOptions } from "./server.js";
export {
  ServerCredentials,
  type TlsServerOptions,
  type KeyCertPair,
  type ServerCertificateConfig,
  type CertificateConfigFetcher,
  type DynamicTlsServerOptions,
} from "./server-credentials.js";
export type { AuthContext, PeerIdentityKey } from "./auth-context.js";
export type { ServerContext } from "./server-context.js";
export type { GenericHandler } from "./router.js";
export {
  type MethodHandler,
  type UnaryHandler,
  type ServerStreamingHandler,
  type ClientStreamingHandler,
  type BidiStreamingHandler,
  unaryMethodHandler,
  serverStreamingMethodHandler,
  clientStreamingMethodHandler,
  bidiStreamingMethodHandler,
} from "./method-handler.js";
export type { ServiceImplementation, HandlerFor } from "./service-implementation.js";
export type {
  ServerInterceptor,
  ServerCallDetails,
  ServerCallResult,
  ServerCallFn,
} from "./server-interceptor.js";
export type { ServerArgs } from "./server-args.js";
