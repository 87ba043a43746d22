import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CallCredentials,
  ChannelCredentials,
  Code,
  Metadata,
  RpcError,
  ServerCredentials,
  type AuthMetadataContext,
} from "../../src/index.js";
import { collect, rejectsWith } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";
import { echoClient, inspectingServer, serverTls, useSecurityCerts } from "../helpers/security-fixtures.js";
import { deferred } from "../helpers/test-server.js";

failOnLeakedHandles();

const T = { timeout: 20_000 };
const certsFor = useSecurityCerts();

/** A TLS server and a TLS channel to it (by name, so the authority is "localhost:port"). */
async function tlsPair(t: Parameters<typeof certsFor>[0], channelCredentials?: (tls: ChannelCredentials) => ChannelCredentials) {
  const c = certsFor(t);
  if (!c) return undefined;
  const server = await inspectingServer(t, serverTls(c.server));
  const tls = ChannelCredentials.tls({ rootCerts: c.ca.cert });
  const { client } = echoClient(t, `localhost:${server.port}`, channelCredentials ? channelCredentials(tls) : tls);
  return { ...server, client };
}

test("access token: sent as `authorization: Bearer <token>`, per call", T, async (t) => {
  const s = await tlsPair(t);
  if (!s) return;
  await s.client.unary({ message: "a" }, { credentials: CallCredentials.accessToken("tok-123") });
  assert.deepEqual(s.last().metadata.getAll("authorization"), ["Bearer tok-123"]);
  // A call without credentials sends none.
  await s.client.unary({ message: "b" });
  assert.equal(s.last().metadata.has("authorization"), false);
});

test("metadata plugin: called once per call with the service URL and method name; may be async", T, async (t) => {
  const contexts: AuthMetadataContext[] = [];
  const credentials = CallCredentials.fromMetadataPlugin(async (context) => {
    contexts.push(context);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { "x-auth-user": "alice", "x-auth-bin": new Uint8Array([1, 2, 3]) };
  });
  const s = await tlsPair(t);
  if (!s) return;
  await s.client.unary({}, { credentials, metadata: { "x-own": "mine" } });
  const seen = s.last().metadata;
  assert.equal(seen.get("x-auth-user"), "alice");
  assert.deepEqual([...(seen.get("x-auth-bin") as Uint8Array)], [1, 2, 3]);
  assert.equal(seen.get("x-own"), "mine");
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0]!.serviceUrl, `https://localhost:${s.port}/tsgrpc.test.Echo`);
  assert.equal(contexts[0]!.methodName, "Unary");
  assert.equal(contexts[0]!.signal.aborted, false);
  // Streaming calls too, one plugin call each.
  await collect(s.client.serverStream({ count: 2 }, { credentials }));
  assert.equal(contexts.length, 2);
  assert.equal(contexts[1]!.methodName, "ServerStream");
});

test("composed call credentials: all of them, in order; channel credentials first, then the call's", T, async (t) => {
  const plugin = (name: string) => CallCredentials.fromMetadataPlugin(() => ({ "x-cred": name }));
  const s = await tlsPair(t, (tls) => ChannelCredentials.compose(tls, plugin("channel-1"), plugin("channel-2")));
  if (!s) return;
  await s.client.unary({});
  assert.deepEqual(s.last().metadata.getAll("x-cred"), ["channel-1", "channel-2"]);
  await s.client.unary({}, { credentials: CallCredentials.compose(plugin("call-1"), CallCredentials.accessToken("t")) });
  assert.deepEqual(s.last().metadata.getAll("x-cred"), ["channel-1", "channel-2", "call-1"]);
  assert.deepEqual(s.last().metadata.getAll("authorization"), ["Bearer t"]);
});

test("a failing plugin fails the call UNAUTHENTICATED with its message, and the server never sees it", T, async (t) => {
  const s = await tlsPair(t);
  if (!s) return;
  const throwing = CallCredentials.fromMetadataPlugin(() => {
    throw new Error("token service said no");
  });
  const err = await rejectsWith(s.client.unary({}, { credentials: throwing }), Code.UNAUTHENTICATED);
  assert.equal(err.details, "token service said no");
  const rejecting = CallCredentials.fromMetadataPlugin(async () => Promise.reject(new Error("expired refresh token")));
  await rejectsWith(s.client.unary({}, { credentials: rejecting }), Code.UNAUTHENTICATED, /^expired refresh token$/);
  // One failing plugin among several fails the call.
  const mixed = CallCredentials.compose(CallCredentials.accessToken("ok"), rejecting);
  await rejectsWith(collect(s.client.serverStream({ count: 1 }, { credentials: mixed })), Code.UNAUTHENTICATED);
  assert.equal(s.contexts.length, 0);
});

test("a plugin's RpcError keeps its code, unless the library never produces that code (then INTERNAL)", T, async (t) => {
  const s = await tlsPair(t);
  if (!s) return;
  const unavailable = CallCredentials.fromMetadataPlugin(() => {
    throw new RpcError(Code.UNAVAILABLE, "token server down");
  });
  await rejectsWith(s.client.unary({}, { credentials: unavailable }), Code.UNAVAILABLE, /token server down/);
  const illegal = CallCredentials.fromMetadataPlugin(() => {
    throw new RpcError(Code.NOT_FOUND, "no such token");
  });
  await rejectsWith(s.client.unary({}, { credentials: illegal }), Code.INTERNAL, /no such token/);
});

test("a plugin returning invalid metadata fails the call UNAUTHENTICATED", T, async (t) => {
  const s = await tlsPair(t);
  if (!s) return;
  const bad = CallCredentials.fromMetadataPlugin(() => ({ "Bad Key!": "x" }), "broken");
  await rejectsWith(s.client.unary({}, { credentials: bad }), Code.UNAUTHENTICATED, /"broken" returned invalid metadata/);
  const nothing = CallCredentials.fromMetadataPlugin(() => undefined);
  assert.equal((await s.client.unary({ message: "ok" }, { credentials: nothing })).message, "ok");
});

test("call credentials are never sent on an insecure channel: the call fails UNAUTHENTICATED", T, async (t) => {
  const { port, contexts } = await inspectingServer(t, ServerCredentials.insecure());
  let pluginCalls = 0;
  const plugin = CallCredentials.fromMetadataPlugin(() => {
    pluginCalls++;
    return { "x-secret": "s" };
  });
  const { client } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.insecure());
  await rejectsWith(client.unary({}, { credentials: CallCredentials.accessToken("secret") }), Code.UNAUTHENTICATED, /insecure/);
  await rejectsWith(collect(client.bidi([{ message: "x" }], { credentials: plugin })), Code.UNAUTHENTICATED);
  // Composed into insecure channel credentials: every call fails the same way.
  const { client: composed } = echoClient(t, `127.0.0.1:${port}`, ChannelCredentials.compose(ChannelCredentials.insecure(), plugin));
  await rejectsWith(composed.unary({}), Code.UNAUTHENTICATED);
  assert.equal(pluginCalls, 0, "the plugin is not even asked");
  assert.equal(contexts.length, 0, "nothing reached the server");
  // Calls without credentials still work on that channel.
  assert.equal((await client.unary({ message: "plain" })).message, "plain");
});

test("a plugin still working when the deadline passes: DEADLINE_EXCEEDED, and its signal aborts", T, async (t) => {
  const s = await tlsPair(t);
  if (!s) return;
  const seenSignal = deferred<AbortSignal>();
  const slow = CallCredentials.fromMetadataPlugin(
    (context) =>
      new Promise<Metadata>((resolve) => {
        seenSignal.resolve(context.signal);
        const timer = setTimeout(() => resolve(new Metadata({ late: "yes" })), 2000);
        context.signal.addEventListener("abort", () => clearTimeout(timer));
      }),
  );
  await rejectsWith(s.client.unary({}, { credentials: slow, timeoutMs: 100 }), Code.DEADLINE_EXCEEDED);
  assert.equal((await seenSignal.promise).aborted, true);
  // Cancelled by the caller while the plugin runs: CANCELLED.
  const controller = new AbortController();
  const call = s.client.unary({}, { credentials: slow, signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await rejectsWith(call, Code.CANCELLED);
  assert.equal(s.contexts.length, 0);
});

test("CallCredentials and ChannelCredentials.compose validate their arguments", () => {
  assert.throws(() => CallCredentials.accessToken(""), /non-empty/);
  assert.throws(() => CallCredentials.accessToken("bad\ntoken"), TypeError);
  assert.throws(() => CallCredentials.compose(), /at least one/);
  assert.throws(() => ChannelCredentials.compose(ChannelCredentials.insecure()), /at least one/);
  assert.throws(() => CallCredentials.fromMetadataPlugin("nope" as never), /function/);
});
