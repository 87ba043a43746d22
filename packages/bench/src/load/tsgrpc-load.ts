// Load generator on tsgrpc's client. Flags: see load.ts (--target --scenario --concurrency --seconds --size).
import { createChannel, createClient } from "tsgrpc";
import { Bench } from "../gen/bench_pb.js";
import { loadMain } from "./load.js";

await loadMain((target) => {
  const channel = createChannel(target);
  const client = createClient(Bench, channel);
  return {
    async unary(request) {
      await client.unary(request);
    },
    async stream(request, onMessage) {
      // Leaving the loop early cancels the call.
      for await (const _message of client.stream(request)) if (!onMessage()) break;
    },
    close: () => channel.close(),
  };
});
