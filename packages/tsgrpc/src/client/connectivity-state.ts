/** A channel's connectivity state (grpc/grpc doc/connectivity-semantics-and-api.md). */
export enum ConnectivityState {
  IDLE = "IDLE",
  CONNECTING = "CONNECTING",
  READY = "READY",
  TRANSIENT_FAILURE = "TRANSIENT_FAILURE",
  SHUTDOWN = "SHUTDOWN",
}
