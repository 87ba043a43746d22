import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { MethodDefinition } from "../core/method.js";
import {
  isServiceDefinition,
  protobufService,
  type DynamicMessage,
  type DynamicMessageInit,
  type RequestInitOf,
  type ResponseOf,
  type ServiceDefinition,
} from "../protobuf/service-definition.js";
import type { CallOptions } from "./call/call-options.js";
import type { Channel } from "./channel.js";
import { channelEntry, type ChannelEntry } from "./internal/channel-registry.js";
import { interceptChannel, type ClientInterceptor } from "./interceptor.js";
import {
  bidiStreamingCall,
  clientStreamingCall,
  serverStreamingCall,
  unaryCall,
  type RequestStream,
  type StreamingCall,
  type UnaryCall,
} from "./call/calls.js";

/**
 * The client method of a protobuf method, by its kind. Requests may be messages or plain init objects.
 * A method whose kind and message types are not known to the type system (a service typed as plain
 * `DescService`, e.g. loaded at run time) gets the one loose shape `DynamicClientMethod`.
 */
export type ClientMethod<M extends DescMethod> = DescMethod extends M
  ? DynamicClientMethod
  : M extends { methodKind: "unary" }
  ? (request: RequestInitOf<M>, options?: CallOptions) => UnaryCall<ResponseOf<M>>
  : M extends { methodKind: "server_streaming" }
    ? (request: RequestInitOf<M>, options?: CallOptions) => StreamingCall<ResponseOf<M>>
    : M extends { methodKind: "client_streaming" }
      ? (requests: RequestStream<RequestInitOf<M>>, options?: CallOptions) => UnaryCall<ResponseOf<M>>
      : M extends { methodKind: "bidi_streaming" }
        ? (requests: RequestStream<RequestInitOf<M>>, options?: CallOptions) => StreamingCall<ResponseOf<M>>
        : never;

/**
 * A call of a method whose kind is known only at run time: typed as both a unary call (await it for the
 * response) and a streaming call (iterate it for the responses), since the type system cannot tell which.
 * At run time it is one of the two, by the method's `methodKind`: a unary or client-streaming call is a
 * promise (iterating it throws "is not async iterable"), a server-streaming or bidi call an async
 * iterable (awaiting it just gives the call back, so do not). Its CallInfo (headers, trailers, status) is
 * there either way.
 */
export type DynamicCall = UnaryCall<DynamicMessage> & StreamingCall<DynamicMessage>;

/**
 * The client method of a method whose kind and message types are known only at run time: what a client
 * for a plain `DescService` has, e.g. `createClient(loadProtos(...).service("routeguide.RouteGuide"),
 * channel)`. Every method takes a request (a message or a plain object with fields by their camelCase
 * localName) or, for the client-streaming and bidi kinds, a stream of them (array, iterable or async
 * iterable), and returns a DynamicCall whose responses are DynamicMessage: real protobuf-es messages whose
 * field values are typed `unknown` (checked where used, or converted with `toJson(method.output, m)`).
 * The method's real kind decides at run time: a stream passed to a unary or server-streaming method
 * fails the call INTERNAL ("could not serialize the request"), one request passed to a client-streaming
 * or bidi method fails it CANCELLED ("the request stream failed").
 * For precise types, generate code with protoc-gen-es: a `GenService` gets typed methods per kind.
 * With `noUncheckedIndexedAccess`, methods of such a client read as possibly undefined (the names are
 * not known to the type system either): call them as `client.getFeature!(...)`.
 */
export type DynamicClientMethod = (
  request: DynamicMessageInit | RequestStream<DynamicMessageInit>,
  options?: CallOptions,
) => DynamicCall;

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
  const entry = channelEntry(channel);
  const client: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition.methods)) client[name] = callableFor(entry, method, defaults);
  return Object.freeze(client);
}

function callableFor(host: ChannelEntry, method: MethodDefinition<unknown, unknown>, defaults: CallOptions | undefined) {
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
