// What the soak benchmark (soak.ts) asks a server process about itself: a line "stats" on stdin is
// answered with one line `STATS {json}` on stdout (a ServerStats), measured after a forced garbage
// collection when node runs with --expose-gc. The servers serve `npm run bench` unchanged: nothing is
// measured unless asked, and they still exit when stdin closes (exitWhenStdinCloses).
import { createInterface } from "node:readline";

/** The reply to "stats". Sizes in bytes; the file descriptors are counted by the orchestrator (/proc). */
export interface ServerStats {
  pid: number;
  /** Whether a full GC ran just before (node --expose-gc); without it heapUsed includes garbage. */
  gc: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** process.getActiveResourcesInfo().length: sockets, timers, handles keeping the loop busy. */
  activeResources: number;
  /** Streaming and waiting handlers that started and have not finished (see HandlerCounter). */
  openHandlers: number;
  /** Handlers counted by HandlerCounter since the start. */
  handlersStarted: number;
}

/**
 * Counts handlers of the streaming and waiting methods that are still running. After a phase has ended
 * and the server had a moment, a non-zero count is a handler that never learnt its call was over.
 */
export class HandlerCounter {
  open = 0;
  started = 0;

  /** Counts a handler in; the function returned counts it out (once, however often it is called). */
  enter(): () => void {
    this.open++;
    this.started++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.open--;
    };
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

async function measure(handlers: HandlerCounter): Promise<ServerStats> {
  // Let callbacks of calls that just ended run before measuring (closing streams, timers firing).
  await new Promise((resolve) => setImmediate(resolve));
  if (gc) {
    // Twice: the first pass can leave objects that only a second finds unreachable (finalizers, weak maps).
    gc();
    gc();
  }
  const memory = process.memoryUsage();
  return {
    pid: process.pid,
    gc: gc !== undefined,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    activeResources: process.getActiveResourcesInfo().length,
    openHandlers: handlers.open,
    handlersStarted: handlers.started,
  };
}

/** Answers each line "stats" on stdin with a `STATS {json}` line; other lines are ignored. */
export function answerStatsRequests(handlers: HandlerCounter): void {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line.trim() !== "stats") return;
    void measure(handlers).then((stats) => process.stdout.write(`STATS ${JSON.stringify(stats)}\n`));
  });
}
