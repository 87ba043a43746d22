import * as net from "node:net";
import type { TestContext } from "node:test";

export interface TcpRelay {
  /** The relay's own port on 127.0.0.1: point the client here. */
  readonly port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /**
   * From now on every byte, either way and on every connection (open or new), is dropped: a peer that
   * silently stopped answering, as behind a dead NAT or a pulled cable. No FIN, no RST.
   */
  blackhole(): void;
  /** New connections are forwarded again; connections that were blackholed stay so (their streams are torn). */
  restore(): void;
  /** Drops every connection at once (a reset, which the peers do notice). */
  cut(): void;
}

/**
 * A TCP relay on 127.0.0.1 in front of `targetPort`, for tests of dead-peer detection. Closed after the
 * test (the listening socket and every connection).
 */
export async function tcpRelay(t: TestContext, targetPort: number): Promise<TcpRelay> {
  let connections = 0;
  let blackholing = false;
  const sockets = new Set<net.Socket>();
  /** One per open connection: turns it into a black hole. */
  const deadSwitches = new Set<() => void>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    let dead = blackholing;
    const killSwitch = (): void => {
      dead = true;
    };
    deadSwitches.add(killSwitch);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        sockets.delete(socket);
        deadSwitches.delete(killSwitch);
        client.destroy();
        upstream.destroy();
      });
    }
    // Forwarded by hand rather than piped, so that bytes can be dropped.
    client.on("data", (chunk: Buffer) => {
      if (!dead) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!dead) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    blackhole: () => {
      blackholing = true;
      for (const kill of deadSwitches) kill();
    },
    restore: () => {
      blackholing = false;
    },
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
