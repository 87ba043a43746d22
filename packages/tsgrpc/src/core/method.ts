/**
 * A method is a path plus serializers: the runtime never knows the message types (the reference API's
 * `unary_unary(method, request_serializer, response_deserializer)`). Protobuf descriptors are one way to
 * get typed methods on top of this.
 */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

export type Serializer<T> = (value: T) => Uint8Array;
export type Deserializer<T> = (bytes: Uint8Array) => T;

/** Everything both sides need to know of one method. */
export interface MethodDefinition<Req, Res> {
  /** "/package.Service/Method" — case-sensitive. */
  readonly path: string;
  readonly kind: MethodKind;
  readonly serializeRequest: Serializer<Req>;
  readonly deserializeRequest: Deserializer<Req>;
  readonly serializeResponse: Serializer<Res>;
  readonly deserializeResponse: Deserializer<Res>;
}

export function clientStreams(kind: MethodKind): boolean {
  return kind === "client_streaming" || kind === "bidi_streaming";
}

export function serverStreams(kind: MethodKind): boolean {
  return kind === "server_streaming" || kind === "bidi_streaming";
}

/** The identity codec, for callers who handle raw bytes themselves. */
export const passThrough = (bytes: Uint8Array): Uint8Array => bytes;
