// The Bench service on tsgrpc. Prints "PORT <n>" first, then serves until stdin closes.
import { createServer } from "tsgrpc";
import { exitWhenStdinCloses } from "../flags.js";
import { payloadOf } from "../bench-service.js";
import { Bench } from "../gen/bench_pb.js";

const server = createServer();
server.addService(Bench, {
  unary: (request) => request,
  async *stream(request) {
    const message = payloadOf(request.size);
    for (let i = 0; i < request.count; i++) yield message;
  },
});

const port = await server.bind("127.0.0.1:0");
process.stdout.write(`PORT ${port}\n`);
exitWhenStdinCloses(() => server.forceShutdown());
