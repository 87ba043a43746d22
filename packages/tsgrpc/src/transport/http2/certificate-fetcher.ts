import type * as net from "node:net";
import type * as tls from "node:tls";
import type { ServerTlsConfig, ServerTlsOptions } from "../transport.js";
import type { ServerCertificates } from "./server-certificates.js";

/**
 * Certificate rotation for a TLS server (reference: `dynamic_ssl_server_credentials`): the fetcher is
 * asked before each new connection's handshake, and a config it returns becomes the server's secure
 * context from that connection on. Sockets already handed to TLS keep the context they were made with.
 *
 * How: node's TLS server wraps an accepted socket in a TLSSocket synchronously in its "connection"
 * listener, reading the server's current secure context at that moment. That listener is taken off and
 * called by us once the fetcher has answered (sync or async), right after `setSecureContext`. Bytes the
 * client sends meanwhile (its ClientHello) wait in the socket and are passed on to TLS by node. This works
 * whether or not the client sends SNI, unlike an SNICallback.
 */
export function useCertificateFetcher(server: tls.Server, options: ServerTlsOptions, certificates: ServerCertificates): void {
  const fetchConfig = options.fetchConfig;
  if (!fetchConfig) return;
  const startHandshake = server.listeners("connection") as Array<(socket: net.Socket) => void>;
  server.removeAllListeners("connection");
  let current: ServerTlsConfig | undefined;
  let fetches = 0;
  let appliedFetch = 0;

  const apply = (config: ServerTlsConfig | undefined, fetch: number): void => {
    // A slow fetch that answers after a newer one must not bring back older certificates.
    if (config === undefined || config === current || fetch < appliedFetch) return;
    if (options.rejectUnauthorized && config.ca === undefined) return; // clients could not be verified
    try {
      certificates.update(server, config);
      current = config;
      appliedFetch = fetch;
    } catch {
      // Unusable PEM: keep serving with the certificates we have (as gRPC core does).
    }
  };
  const handOver = (socket: net.Socket): void => {
    if (socket.destroyed) return;
    for (const listener of startHandshake) listener.call(server, socket);
  };

  server.on("connection", (socket: net.Socket) => {
    const fetch = ++fetches;
    let answer: ReturnType<typeof fetchConfig>;
    try {
      answer = fetchConfig();
    } catch {
      handOver(socket);
      return;
    }
    if (!isPromise(answer)) {
      apply(answer, fetch);
      handOver(socket);
      return;
    }
    // The client may reset while we wait; TLS is not listening yet, so catch that here.
    const ignore = (): void => undefined;
    socket.on("error", ignore);
    answer.then(
      (config) => apply(config, fetch),
      () => undefined,
    ).finally(() => {
      socket.off("error", ignore);
      handOver(socket);
    });
  });
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}
