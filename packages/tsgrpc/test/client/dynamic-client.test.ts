import assert from "node:assert/strict";
import { test } from "node:test";
import { create, isMessage, toJson, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  createClient,
  type Client,
  type DynamicCall,
  type DynamicClientMethod,
  type DynamicMessage,
  type ServerContext,
  type StreamingCall,
  type UnaryCall,
} from "tsgrpc";
import { Echo, EchoRequestSchema, EchoResponseSchema, type EchoResponse } from "../gen/echo_pb.js";
import { channelFor, collect, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { expectType, type Equal } from "../helpers/type-checks.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

/**
 * A service typed the way `loadProtos(...).service("x.Y")` of @tsgrpc/proto-loader types it: a plain
 * protobuf-es DescService, whose method kinds and message types the type system does not know. (The
 * generated descriptor, widened: the same value a loader would build, the same typing.)
 */
const service: DescService = Echo;

/** The Echo service served through `service`: handlers typed only by the loose HandlerFor shape. */
async function dynamicServer(t: Parameters<typeof serve>[0]) {
  return serve(t, (s) =>
    s.addService(service, {
      // No casts, no annotations: request and context come from HandlerFor's run-time shape.
      unary(request, ctx) {
        expectType<Equal<typeof ctx, ServerContext>>(true);
        if (request.message === "missing") ctx.abort(Code.NOT_FOUND, "no such message");
        return { message: `unary:${request.message}`, index: 1 };
      },
      async *serverStream(request) {
        for (let index = 0; index < request.count; index++) yield { message: request.message, index };
      },
      async clientStream(requests) {
        const parts: string[] = [];
        for await (const request of requests) parts.push(request.message);
        return create(EchoResponseSchema, { message: parts.join(","), index: parts.length });
      },
      async *bidi(requests) {
        let index = 0;
        for await (const request of requests) yield { message: `bidi:${request.message}`, index: index++ };
      },
    }),
  );
}

test("a client for a plain DescService calls all four kinds without casts, responses are real messages", T, async (t) => {
  const { port } = await dynamicServer(t);
  const client = createClient(service, channelFor(t, port));

  // Unary: await it.
  const one = await client.unary({ message: "hi" });
  expectType<Equal<typeof one, DynamicMessage>>(true);
  assert.equal(one.$typeName, "tsgrpc.test.EchoResponse");
  assert.equal(one.message, "unary:hi");
  assert.equal(one.index, 1);
  assert.ok(isMessage(one, EchoResponseSchema), "a protobuf-es message of the method's output type");
  assert.deepEqual(toJson(service.method.unary.output, one), { message: "unary:hi", index: 1 });

  // Server streaming: iterate it.
  const indexes: unknown[] = [];
  for await (const response of client.serverStream({ message: "s", count: 3 })) {
    expectType<Equal<typeof response, DynamicMessage>>(true);
    indexes.push(response.index);
  }
  assert.deepEqual(indexes, [0, 1, 2]);

  // Client streaming: an array, or messages made with create(), as the request stream.
  const joined = await client.clientStream([{ message: "a" }, create(EchoRequestSchema, { message: "b" }), { message: "c" }]);
  assert.equal(joined.message, "a,b,c");
  assert.equal(joined.index, 3);

  // Bidi: an async generator as the request stream.
  async function* requests() {
    yield { message: "x" };
    yield { message: "y" };
  }
  const answers = await collect(client.bidi(requests()));
  assert.deepEqual(answers.map((a) => [a.message, a.index]), [["bidi:x", 0], ["bidi:y", 1]]);

  // Call options and CallInfo are there as on a typed client.
  const call = client.unary({ message: "with-info" }, { timeoutMs: 5000, metadata: { "x-test": "1" } });
  assert.equal((await call).message, "unary:with-info");
  assert.equal((await call.status).code, Code.OK);
});

test("a handler of a DescService service aborts; the dynamic client sees the status", T, async (t) => {
  const { port } = await dynamicServer(t);
  const client = createClient(service, channelFor(t, port));
  await rejectsWith(client.unary({ message: "missing" }), Code.NOT_FOUND, /no such message/);
});

test("using a dynamic method in the wrong shape fails the call clearly, not with an empty message", T, async (t) => {
  const { port } = await dynamicServer(t);
  const client = createClient(service, channelFor(t, port));
  // The type allows a stream for every method (it cannot tell the kinds apart); the serializer refuses it.
  await rejectsWith(client.unary([{ message: "a" }, { message: "b" }]), Code.INTERNAL, /expected one tsgrpc\.test\.EchoRequest.*an array/);
  // One request where a stream is expected.
  await rejectsWith(client.clientStream({ message: "a" }), Code.CANCELLED, /request stream failed/);
});

// ---- types only -------------------------------------------------------------------------------------

test("types: a DescService client has DynamicClientMethod methods; a GenService client stays precise", () => {
  type Dynamic = Client<DescService>;
  expectType<Equal<Dynamic[string], DynamicClientMethod>>(true);
  expectType<Equal<ReturnType<DynamicClientMethod>, DynamicCall>>(true);
  expectType<Equal<DynamicCall, UnaryCall<DynamicMessage> & StreamingCall<DynamicMessage>>>(true);

  type Typed = Client<typeof Echo>;
  type Init = MessageInitShape<typeof EchoRequestSchema>;
  expectType<Equal<keyof Typed, "unary" | "serverStream" | "clientStream" | "bidi">>(true);
  expectType<Equal<Parameters<Typed["unary"]>[0], Init>>(true);
  expectType<Equal<ReturnType<Typed["unary"]>, UnaryCall<EchoResponse>>>(true);
  expectType<Equal<ReturnType<Typed["serverStream"]>, StreamingCall<EchoResponse>>>(true);
  expectType<Equal<ReturnType<Typed["clientStream"]>, UnaryCall<EchoResponse>>>(true);
  expectType<Equal<ReturnType<Typed["bidi"]>, StreamingCall<EchoResponse>>>(true);

  // Never called: these must not compile against the generated, precise client.
  function misuses(typed: Typed): void {
    // @ts-expect-error a unary method takes one request, not a stream
    void typed.unary([{ message: "a" }]);
    // @ts-expect-error a server-streaming call is iterated, not awaited for a message
    void typed.serverStream({}).then;
    // @ts-expect-error unknown fields are refused
    void typed.unary({ mesage: "typo" });
  }
  void misuses;
});
