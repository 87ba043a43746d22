// Shared by the @grpc/grpc-js interop peers (grpc-js-server.ts, grpc-js-client.ts): loading the standard
// test protos with @grpc/proto-loader, flag parsing and message shapes. Nothing here uses tsgrpc.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Where the Debian package grpc-proto installs the test protos (override with GRPC_PROTO_DIR). */
export const PROTO_DIR = process.env.GRPC_PROTO_DIR ?? "/usr/share/grpc-proto";

export interface Payload {
  type?: string;
  body?: Buffer;
}
export interface BoolValue {
  value?: boolean;
}
export interface EchoStatus {
  code?: number;
  message?: string;
}
export interface SimpleRequest {
  response_type?: string;
  response_size?: number;
  payload?: Payload | null;
  response_compressed?: BoolValue | null;
  response_status?: EchoStatus | null;
  expect_compressed?: BoolValue | null;
}
export interface SimpleResponse {
  payload?: Payload | null;
}
export interface StreamingInputCallRequest {
  payload?: Payload | null;
  expect_compressed?: BoolValue | null;
}
export interface StreamingInputCallResponse {
  aggregated_payload_size?: number;
}
export interface ResponseParameters {
  size?: number;
  interval_us?: number;
  compressed?: BoolValue | null;
}
export interface StreamingOutputCallRequest {
  response_type?: string;
  response_parameters?: ResponseParameters[];
  payload?: Payload | null;
  response_status?: EchoStatus | null;
}
export interface StreamingOutputCallResponse {
  payload?: Payload | null;
}

export interface TestProtos {
  TestService: grpc.ServiceClientConstructor;
  UnimplementedService: grpc.ServiceClientConstructor;
}

/** grpc.testing.TestService and UnimplementedService, loaded from the .proto files at run time. */
export function loadTestProtos(): TestProtos {
  const definition = protoLoader.loadSync(
    ["grpc/testing/test.proto", "grpc/testing/messages.proto", "grpc/testing/empty.proto"],
    {
      includeDirs: [PROTO_DIR],
      keepCase: true, // field names as in the .proto: response_size, not responseSize
      enums: String,
      defaults: false,
      oneofs: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { testing: TestProtos };
  };
  return loaded.grpc.testing;
}

/** --name=value flags (a bare --name means true). */
export function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (!arg.startsWith("--")) throw new Error(`unexpected argument: ${arg}`);
    const eq = arg.indexOf("=");
    if (eq < 0) flags.set(arg.slice(2), "true");
    else flags.set(arg.slice(2, eq), arg.slice(eq + 1));
  }
  return flags;
}

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["true", "1", "yes"].includes(value.toLowerCase());
}

export const ECHO_INITIAL_KEY = "x-grpc-test-echo-initial";
export const ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin";
