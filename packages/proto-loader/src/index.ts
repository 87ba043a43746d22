export { loadProtos, loadProtosSync, type LoadedProtos } from "./load-protos.js";
export { createProtoWorkspace, ProtoError, type ProtoSources, type ProtoWorkspace } from "./proto-workspace.js";
export { runBuf } from "./buf.js";
