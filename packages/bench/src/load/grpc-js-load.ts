// Load generator on @grpc/grpc-js's client (the generic Client with protobuf-es (de)serializers, as a
// generated stub would call it). Flags: see load.ts.
import * as grpc from "@grpc/grpc-js";
import {
  STREAM_PATH,
  UNARY_PATH,
  deserializePayload,
  serializePayload,
  serializeStreamRequest,
} from "../bench-service.js";
import { loadMain } from "./load.js";

await loadMain((target) => {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return {
    unary(request) {
      return new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(UNARY_PATH, serializePayload, deserializePayload, request, (err) => (err ? reject(err) : resolve()));
      });
    },
    stream(request, onMessage) {
      return new Promise<void>((resolve, reject) => {
        const call = client.makeServerStreamRequest(STREAM_PATH, serializeStreamRequest, deserializePayload, request);
        let cancelled = false;
        call.on("data", () => {
          if (!cancelled && !onMessage()) {
            cancelled = true;
            call.cancel();
          }
        });
        // After our own cancel grpc-js reports CANCELLED: that is the normal end of a cut-short stream.
        call.on("error", (err) => (cancelled ? resolve() : reject(err)));
        call.on("end", () => resolve());
      });
    },
    close: () => client.close(),
  };
});
