/**
 * Message helpers for interceptors, the same on both sides: a client call and a server call each carry
 * `requests`, and a client result and a server result each carry `responses`.
 */

type Messages<T> = AsyncIterable<T> | Iterable<T>;

/**
 * `call` with each request passed through `map` on its way (to the server on the client side, to the
 * handler on the server side). The new stream can be iterated again whenever the old one can (a unary
 * call's can), so a retry further down the chain sends the mapped request again.
 */
export function mapRequests<T extends { readonly requests: Messages<unknown> }>(
  call: T,
  map: (request: any, index: number) => unknown,
): T {
  return { ...call, requests: mapped(call.requests, map) };
}

/**
 * `result` with each response passed through `map` on its way back (to the caller on the client side, to
 * the network on the server side). An error thrown by `map` fails the call with it.
 */
export function mapResponses<T extends { readonly responses: Messages<unknown> }>(
  result: T,
  map: (response: any, index: number) => unknown,
): T {
  return { ...result, responses: mapped(result.responses, map) };
}

function mapped(source: Messages<unknown>, map: (message: any, index: number) => unknown): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      let index = 0;
      for await (const message of source) yield await map(message, index++);
    },
  };
}
