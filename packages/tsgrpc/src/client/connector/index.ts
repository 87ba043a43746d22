// How the client reaches a transport.
export { http2Connector, type Connector, type ConnectOptions } from "./connector.js";
