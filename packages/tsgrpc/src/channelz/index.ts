// tsgrpc/channelz: the channelz service (grpc.channelz.v1). The generated schemas are exported for its
// clients.
export * from "./gen/grpc/channelz/v1/channelz_pb.js";
