/**
 * The interop cases every client in this package runs with `--test_case=all`, in that order, named as in
 * grpc/grpc doc/interop-test-descriptions.md. The tsgrpc client (cases.ts), the grpc-js peer client and
 * the tests that check them all hold to this one list.
 */
export const INTEROP_CASE_NAMES = [
  "empty_unary",
  "large_unary",
  "client_compressed_unary",
  "server_compressed_unary",
  "client_streaming",
  "client_compressed_streaming",
  "server_streaming",
  "server_compressed_streaming",
  "ping_pong",
  "empty_stream",
  "timeout_on_sleeping_server",
  "cancel_after_begin",
  "cancel_after_first_response",
  "custom_metadata",
  "status_code_and_message",
  "special_status_message",
  "unimplemented_method",
  "unimplemented_service",
] as const;

export type InteropCaseName = (typeof INTEROP_CASE_NAMES)[number];
