export { createServer, type Server, type ServerOptions, type ShutdownOptions } from "./server.js";
export { ServerCredentials, type TlsServerOptions } from "./server-credentials.js";
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
