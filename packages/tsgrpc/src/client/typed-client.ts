import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { MethodDefinition } from "../core/method.js";
import {
  isServiceDefinition,
  protobufService,
  type RequestInitOf,
  type ResponseOf,
  type ServiceDefinition,
} from "../protobuf/service-definition.js";
import type { CallHost } from "./call-host.js";
import type { CallOptions } from "./call-options.js";
import type { Channel } from "./channel.js";
import { interceptChannel, type ClientInterceptor } from "./interceptor.js";
import {
  bidiStreamingCall,
  clientStreamingCall,
  serverStreamingCall,
  unaryCall,
  type RequestStream,
  type StreamingCall,
  type UnaryCall,
} from "./calls.js";

/** The client method of a protobuf method, by its kind. Requests may be messages or plain init objects. */
export type ClientMethod<M extends DescMethod> = M extends { methodKind: "unary" }
  ? (request: RequestInitOf<M>, options?: CallOptions) => UnaryCall<ResponseOf<M>>
  : M extends { methodKind: "server_streaming" }
    ? (request: RequestInitOf<M>, options?: CallOptions) => StreamingCall<ResponseOf<M>>
    : M extends { methodKind: "client_streaming" }
      ? (requests: RequestStream<RequestInitOf<M>>, options?: CallOptions) => UnaryCall<ResponseOf<M>>
      : M extends { methodKind: "bidi_streaming" }
        ? (requests: RequestStream<RequestInitOf<M>>, options?: CallOptions) => StreamingCall<ResponseOf<M>>
        : never;

/** A typed client: one method per RPC, named in camelCase (reference: the generated `XStub`). */
export type Client<S extends DescService> = {
  readonly [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
};

/** The third argument of createClient: call options for every call, and this client's own interceptors. */
export interface ClientOptions extends CallOptions {
  /** Interceptors for this client's calls only, in front of the channel's (see docs/interceptors.md). */
  interceptors?: readonly ClientInterceptor[];
}

/**
 * Makes a typed client for a protobuf-es service descriptor (or a codec-agnostic ServiceDefinition) on
 * `channel`. `defaults` are merged under every call's own options (e.g. a standard timeout); its
 * `interceptors` apply to this client's calls.
 */
export function createClient<S extends DescService>(service: S, channel: Channel, defaults?: ClientOptions): Client<S>;
export function createClient(service: ServiceDefinition, channel: Channel, defaults?: ClientOptions): Record<string, (...args: any[]) => unknown>;
export function createClient(service: DescService | ServiceDefinition, channel: Channel, options?: ClientOptions): object {
  const definition = isServiceDefinition(service) ? service : protobufService(service);
  let defaults: CallOptions | undefined = options;
  if (options?.interceptors !== undefined) {
    const { interceptors, ...rest } = options;
    channel = interceptChannel(channel, ...interceptors);
    defaults = Object.keys(rest).length > 0 ? rest : undefined;
  }
  const host = channel as unknown as CallHost;
  const client: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition.methods)) client[name] = callableFor(host, method, defaults);
  return Object.freeze(client);
}

function callableFor(host: CallHost, method: MethodDefinition<unknown, unknown>, defaults: CallOptions | undefined) {
  const merge = (options: CallOptions | undefined): CallOptions | undefined =>
    defaults === undefined ? options : options === undefined ? defaults : { ...defaults, ...options };
  switch (method.kind) {
    case "unary":
      return (request: unknown, options?: CallOptions) => unaryCall(host, method, request, merge(options));
    case "server_streaming":
      return (request: unknown, options?: CallOptions) => serverStreamingCall(host, method, request, merge(options));
    case "client_streaming":
      return (requests: RequestStream<unknown>, options?: CallOptions) => clientStreamingCall(host, method, requests, merge(options));
    case "bidi_streaming":
      return (requests: RequestStream<unknown>, options?: CallOptions) => bidiStreamingCall(host, method, requests, merge(options));
  }
}
