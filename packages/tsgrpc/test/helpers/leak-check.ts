import assert from "node:assert/strict";
import { after } from "node:test";

/**
 * Handles that mean a test left something running: sockets, listening servers, timers, child processes.
 * (Pipes are not watched: stdout and stderr are pipes too.)
 */
const WATCHED = new Set(["TCPSocketWrap", "TCPServerWrap", "TLSWrap", "Timeout", "Immediate", "ProcessWrap", "PipeServerWrap"]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Call once at the top of a test file: after its last test, the file fails if a socket, server, timer or
 * child process is still open. Closing is asynchronous, so handles get two seconds to go away. A file that
 * leaks is also made to exit, so a leak is a failure rather than a hang.
 */
export function failOnLeakedHandles(): void {
  after(async () => {
    const giveUpAt = Date.now() + 2000;
    let leaked: string[];
    for (;;) {
      leaked = process.getActiveResourcesInfo().filter((name) => WATCHED.has(name));
      if (leaked.length === 0 || Date.now() > giveUpAt) break;
      await sleep(20);
    }
    if (leaked.length > 0) setTimeout(() => process.exit(1), 1000).unref();
    assert.deepEqual(leaked, [], `the tests left these handles open: ${leaked.join(", ")}`);
  });
}
