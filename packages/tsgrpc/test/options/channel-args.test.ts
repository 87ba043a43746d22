import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import { test } from "node:test";
import { Code, createChannel, createClient, unaryUnary, type ChannelOptions } from "tsgrpc";
import { normalizeChannelOptions } from "../../src/client/channel-args.js";
import { Echo } from "../gen/echo_pb.js";
import { grpcFrame, rawServer, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

test("every gRPC channel-argument name sets its typed ChannelOptions field", () => {
  const options: ChannelOptions = {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": 1024,
    "grpc.max_send_message_length": -1,
    "grpc.max_concurrent_streams": 50,
    "grpc.max_metadata_size": 16_384,
    "grpc.default_compression_algorithm": 2,
    "grpc.ssl_target_name_override": "foo.test.google.fr",
    "grpc.primary_user_agent": "my-app/1.0",
    "grpc.default_authority": "svc.example",
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 5_000,
    "grpc.min_reconnect_backoff_ms": 2_000,
    "grpc.client_idle_timeout_ms": 60_000,
    "grpc.enable_retries": 0,
    "grpc.http2.max_pings_without_data": 0,
    "grpc.lb_policy_name": "pick_first",
    "grpc.enable_channelz": 0,
    "grpc.use_local_subchannel_pool": 1,
    "grpc.enable_http_proxy": 0,
  };
  assert.deepEqual(normalizeChannelOptions(options), {
    keepaliveTimeMs: 30_000,
    keepaliveTimeoutMs: 5_000,
    keepalivePermitWithoutCalls: true,
    maxReceiveMessageLength: 1024,
    maxSendMessageLength: Infinity,
    maxConcurrentStreams: 50,
    maxMetadataSize: 16_384,
    compression: "gzip",
    serverNameOverride: "foo.test.google.fr",
    userAgent: "my-app/1.0",
    authority: "svc.example",
    backoff: { initialMs: 100, maxMs: 5_000 },
    connectTimeoutMs: 2_000,
    idleTimeoutMs: 60_000,
  });
});

test("typed fields pass through untouched; names mix with them; the same object comes back without names", () => {
  const typed: ChannelOptions = { compression: "deflate", backoff: { multiplier: 2 } };
  assert.equal(normalizeChannelOptions(typed), typed);
  assert.deepEqual(
    normalizeChannelOptions({ ...typed, "grpc.initial_reconnect_backoff_ms": 10, "grpc.default_compression_algorithm": "deflate" }),
    { compression: "deflate", backoff: { multiplier: 2, initialMs: 10 } },
  );
  // A name whose value agrees with the typed field is fine; undefined values are left out.
  assert.deepEqual(normalizeChannelOptions({ userAgent: "a", "grpc.primary_user_agent": "a", "grpc.default_authority": undefined }), { userAgent: "a" });
  // Booleans work too, and the compression enum's other values.
  assert.deepEqual(normalizeChannelOptions({ "grpc.keepalive_permit_without_calls": false, "grpc.default_compression_algorithm": 0 }), {
    keepalivePermitWithoutCalls: false,
    compression: "identity",
  });
});

test("an unknown name is an error naming it and the closest known one", () => {
  assert.throws(
    () => normalizeChannelOptions({ "grpc.keepalive_time": 1000 } as ChannelOptions),
    /createChannel: unknown option "grpc\.keepalive_time"; did you mean "grpc\.keepalive_time_ms"\?/,
  );
  assert.throws(() => normalizeChannelOptions({ "grpc.max_recieve_message_length": 1 } as ChannelOptions), /did you mean "grpc\.max_receive_message_length"/);
  assert.throws(() => normalizeChannelOptions({ "com.example.whatever": 1 } as ChannelOptions), /unknown option "com\.example\.whatever"/);
  // createChannel itself refuses it.
  assert.throws(() => createChannel("127.0.0.1:1", undefined, { "grpc.keepalive_tme_ms": 5 } as ChannelOptions), /unknown option "grpc\.keepalive_tme_ms"/);
});

test("server-only names, unsupported names, refused values and conflicts are errors that say why", () => {
  assert.throws(
    () => normalizeChannelOptions({ "grpc.max_connection_age_ms": 1000 } as ChannelOptions),
    /"grpc\.max_connection_age_ms" is an option of createServer, not of createChannel/,
  );
  assert.deepEqual(normalizeChannelOptions({ "grpc.service_config": "{}" }), { serviceConfig: "{}" });
  assert.throws(() => normalizeChannelOptions({ "grpc.secondary_user_agent": "x" } as ChannelOptions), /not supported by tsgrpc: put the whole prefix in userAgent/);
  assert.throws(() => normalizeChannelOptions({ "grpc.lb_policy_name": "round_robin" }), /"grpc\.lb_policy_name" = "round_robin" is not supported by tsgrpc: .*loadBalancingConfig/);
  assert.throws(() => normalizeChannelOptions({ "grpc.enable_http_proxy": 1 }), /enable_http_proxy" = 1 is not supported/);
  assert.throws(() => normalizeChannelOptions({ "grpc.keepalive_time_ms": -5 }), /"grpc\.keepalive_time_ms" must be a whole number of milliseconds >= 0, got -5/);
  assert.throws(() => normalizeChannelOptions({ "grpc.keepalive_permit_without_calls": 2 }), /must be 0 or 1/);
  assert.throws(() => normalizeChannelOptions({ "grpc.default_compression_algorithm": 7 }), /must be 0 \(identity\), 1 \(deflate\), 2 \(gzip\)/);
  assert.throws(() => normalizeChannelOptions({ "grpc.primary_user_agent": 5 as unknown as string }), /must be a string/);
  assert.throws(
    () => normalizeChannelOptions({ keepaliveTimeMs: 1000, "grpc.keepalive_time_ms": 2000 }),
    /"grpc\.keepalive_time_ms" = 2000 conflicts with keepaliveTimeMs = 1000; give only one/,
  );
  assert.throws(
    () => normalizeChannelOptions({ backoff: { initialMs: 5 }, "grpc.initial_reconnect_backoff_ms": 6 }),
    /conflicts with backoff\.initialMs = 5/,
  );
});

test("names take effect on a real channel: max receive length, user agent, authority, compression", T, async (t) => {
  const { port } = await serve(t);
  const small = createChannel(`127.0.0.1:${port}`, undefined, { "grpc.max_receive_message_length": 64 });
  t.after(() => small.close());
  const client = createClient(Echo, small);
  assert.equal((await client.unary({ message: "short" })).message, "short");
  await rejectsWith(client.unary({ message: "x".repeat(200) }), Code.RESOURCE_EXHAUSTED);

  let head: http2.IncomingHttpHeaders | undefined;
  const raw = await rawServer(t, (stream, headers) => {
    head = headers;
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.on("data", () => undefined);
    stream.on("end", () => stream.end(grpcFrame(new Uint8Array([1, 2, 3]))));
  });
  const named = createChannel(`127.0.0.1:${raw}`, undefined, {
    "grpc.primary_user_agent": "route-guide/2.0",
    "grpc.default_authority": "guide.example:443",
    "grpc.default_compression_algorithm": 2,
  });
  t.after(() => named.close());
  await unaryUnary(named, "/raw.Named/Call")(new Uint8Array(100));
  assert.ok(head);
  assert.match(String(head["user-agent"]), /^route-guide\/2\.0 /);
  assert.equal(head[":authority"], "guide.example:443");
  assert.equal(head["grpc-encoding"], "gzip");
});
