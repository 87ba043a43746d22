import type { Http2Tuning } from "../transport.js";

/**
 * Flow-control windows larger than HTTP/2's 64 KiB default: with one round trip on loopback the default
 * would cap a single stream's throughput, while these still bound what a slow reader can be sent.
 */
export const DEFAULT_STREAM_WINDOW = 1024 * 1024;
export const DEFAULT_CONNECTION_WINDOW = 8 * 1024 * 1024;
/** SETTINGS_MAX_HEADER_LIST_SIZE: 8 KiB, gRPC's default metadata limit (`grpc.max_metadata_size`). */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 8 * 1024;

/**
 * SETTINGS_MAX_CONCURRENT_STREAMS a server advertises unless told otherwise. grpc-go and gRPC Core leave
 * it unlimited, but then one connection may hold any number of streams, each with its nghttp2 and call
 * state and up to a receive limit of buffered request. 1000 is far above what a gRPC client keeps open on
 * one connection in normal use (RFC 9113 recommends at least 100), and clients that reach it queue
 * further calls (grpc-go, grpc-java, grpc-js and tsgrpc all do) or open another connection; it does not
 * fail calls.
 */
export const DEFAULT_SERVER_MAX_CONCURRENT_STREAMS = 1000;

export function sessionSettings(tuning: Http2Tuning): Record<string, number | boolean> {
  const settings: Record<string, number | boolean> = {
    initialWindowSize: tuning.initialWindowSize ?? DEFAULT_STREAM_WINDOW,
    maxHeaderListSize: tuning.maxMetadataSize ?? tuning.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE,
    enablePush: false,
  };
  if (tuning.maxConcurrentStreams !== undefined) settings["maxConcurrentStreams"] = tuning.maxConcurrentStreams;
  return settings;
}
