import { createFileRegistry, fromBinary, type DescMessage, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { runBuf, runBufSync, type BufResult } from "./buf.js";
import { createProtoWorkspace, ProtoError, type ProtoSources } from "./proto-workspace.js";

/**
 * .proto files loaded at run time (reference: `grpc.protos_and_services`; for grpc-js users,
 * `@grpc/proto-loader`). The descriptors are protobuf-es ones, so they work with `addService` and
 * `createClient` exactly like generated code, and with protobuf-es's create/toBinary/toJson.
 */
export interface LoadedProtos {
  /** Every file, message, enum, extension and service compiled, with their imports. */
  readonly registry: FileRegistry;
  /** Services of the requested files by full name ("routeguide.RouteGuide", or "Users" without a package). */
  readonly services: Readonly<Record<string, DescService>>;
  /** Messages of the requested files by full name. */
  readonly messages: Readonly<Record<string, DescMessage>>;
  /** A service by full name; throws with the known names when missing. */
  service(typeName: string): DescService;
  /** A message by full name; throws with the known names when missing. */
  message(typeName: string): DescMessage;
}

export async function loadProtos(sources: ProtoSources): Promise<LoadedProtos> {
  const workspace = createProtoWorkspace(sources);
  try {
    const result = await runBuf(buildArgs(workspace.paths), workspace.dir);
    return toLoaded(result, workspace.importPaths, workspace.readableErrors);
  } finally {
    workspace.remove();
  }
}

/** The same as `loadProtos`, blocking: for module top level in scripts that cannot await. */
export function loadProtosSync(sources: ProtoSources): LoadedProtos {
  const workspace = createProtoWorkspace(sources);
  try {
    return toLoaded(runBufSync(buildArgs(workspace.paths), workspace.dir), workspace.importPaths, workspace.readableErrors);
  } finally {
    workspace.remove();
  }
}

/** `buf build` to a binary FileDescriptorSet with imports and source info, on stdout. */
function buildArgs(paths: readonly string[]): string[] {
  return ["build", ".", "--output", "-#format=binpb", ...paths.flatMap((p) => ["--path", p])];
}

function toLoaded(result: BufResult, importPaths: readonly string[], readable: (output: string) => string): LoadedProtos {
  if (result.code !== 0) throw new ProtoError(readable(result.stderr) || `compiling .proto files failed (exit ${result.code})`);
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, result.stdout));
  const services: Record<string, DescService> = {};
  const messages: Record<string, DescMessage> = {};
  for (const importPath of importPaths) {
    const file = registry.getFile(importPath);
    if (!file) continue;
    for (const service of file.services) services[service.typeName] = service;
    for (const message of file.messages) collectMessages(message, messages);
  }
  return {
    registry,
    services,
    messages,
    service(typeName) {
      const found = services[typeName];
      if (!found) throw new ProtoError(`no service "${typeName}" in the loaded files (services: ${Object.keys(services).join(", ") || "none"})`);
      return found;
    },
    message(typeName) {
      const found = messages[typeName] ?? registry.getMessage(typeName);
      if (!found) throw new ProtoError(`no message "${typeName}" in the loaded files`);
      return found;
    },
  };
}

function collectMessages(message: DescMessage, into: Record<string, DescMessage>): void {
  into[message.typeName] = message;
  for (const nested of message.nestedMessages) collectMessages(nested, into);
}
