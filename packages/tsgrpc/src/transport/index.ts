export * from "./transport.js";
export { connectHttp2, type ClientConnectionOptions } from "./http2/client-connection.js";
export { listenHttp2, type ServerListener, type ServerListenerOptions } from "./http2/server-listener.js";
export { DEFAULT_STREAM_WINDOW, DEFAULT_CONNECTION_WINDOW, DEFAULT_MAX_HEADER_LIST_SIZE } from "./http2/settings.js";
