// The Bench service on tsgrpc. Prints "PORT <n>" first, then serves until stdin closes; answers "stats"
// lines on stdin (see stats.ts).
import { createServer, type ServerContext } from "tsgrpc";
import { exitWhenStdinCloses } from "../flags.js";
import { payloadOf } from "../bench-service.js";
import { Bench, type Payload } from "../gen/bench_pb.js";
import { HandlerCounter, answerStatsRequests } from "./stats.js";

const handlers = new HandlerCounter();
const EMPTY = payloadOf(0);

/** Resolves after `ms`, or as soon as the call is over (cancelled, deadline passed, server stopping). */
function waitOrCancel(ms: number, ctx: ServerContext): Promise<void> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    ctx.signal.addEventListener("abort", done);
  });
}

const server = createServer();
server.addService(Bench, {
  unary: (request) => request,
  async *stream(request) {
    const leave = handlers.enter();
    try {
      const message = payloadOf(request.size);
      for (let i = 0; i < request.count; i++) yield message;
    } finally {
      leave();
    }
  },
  async clientStream(requests) {
    const leave = handlers.enter();
    try {
      let count = 0;
      let bytes = 0;
      for await (const request of requests) {
        count++;
        bytes += request.body.byteLength;
      }
      return { count, bytes };
    } finally {
      leave();
    }
  },
  async *bidi(requests: AsyncIterable<Payload>) {
    const leave = handlers.enter();
    try {
      for await (const request of requests) yield request;
    } finally {
      leave();
    }
  },
  async wait(request, ctx) {
    const leave = handlers.enter();
    try {
      await waitOrCancel(request.ms, ctx);
      return EMPTY;
    } finally {
      leave();
    }
  },
});

const port = await server.bind("127.0.0.1:0");
process.stdout.write(`PORT ${port}\n`);
answerStatsRequests(handlers);
exitWhenStdinCloses(() => server.forceShutdown());
