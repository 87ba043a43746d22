import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code, createServer, type ServerOptions } from "tsgrpc";
import { CHANNEL_ARGS, SERVER_ARGS } from "../../src/internal/grpc-arg-names.js";
import { normalizeServerOptions } from "../../src/server/server-args.js";
import { echoClient, rejectsWith, serve } from "../helpers/client-fixtures.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

const T = { timeout: 10_000 };

test("every gRPC server argument name sets its typed ServerOptions field", () => {
  const options: ServerOptions = {
    "grpc.keepalive_time_ms": 7_200_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.keepalive_permit_without_calls": 0,
    "grpc.http2.min_ping_interval_without_data_ms": 300_000,
    "grpc.http2.max_ping_strikes": 2,
    "grpc.max_connection_idle_ms": 60_000,
    "grpc.max_connection_age_ms": 120_000,
    "grpc.max_connection_age_grace_ms": 5_000,
    "grpc.max_concurrent_streams": 100,
    "grpc.max_metadata_size": 8192,
    "grpc.max_receive_message_length": 2_147_483_647,
    "grpc.max_send_message_length": 1 << 20,
    "grpc.default_compression_algorithm": 1,
    "grpc.so_reuseport": 0,
    "grpc.enable_channelz": 0,
  };
  assert.deepEqual(normalizeServerOptions(options), {
    keepaliveTimeMs: 7_200_000,
    keepaliveTimeoutMs: 20_000,
    keepalivePermitWithoutCalls: false,
    keepaliveMinTimeMs: 300_000,
    maxConnectionIdleMs: 60_000,
    maxConnectionAgeMs: 120_000,
    maxConnectionAgeGraceMs: 5_000,
    maxConcurrentStreams: 100,
    maxMetadataSize: 8192,
    maxReceiveMessageLength: Infinity,
    maxSendMessageLength: 1 << 20,
    compression: "deflate",
  });
});

test("createServer reports unknown, channel-only and unsupported names", () => {
  assert.throws(
    () => createServer({ "grpc.max_conection_age_ms": 1 } as ServerOptions),
    /createServer: unknown option "grpc\.max_conection_age_ms"; did you mean "grpc\.max_connection_age_ms"\?/,
  );
  assert.throws(
    () => createServer({ "grpc.primary_user_agent": "x" } as ServerOptions),
    /"grpc\.primary_user_agent" is an option of createChannel, not of createServer/,
  );
  assert.throws(() => createServer({ "grpc.so_reuseport": 1 }), /"grpc\.so_reuseport" = 1 is not supported by tsgrpc/);
  assert.throws(() => createServer({ "grpc.http2.max_ping_strikes": 0 }), /max_ping_strikes" = 0 is not supported by tsgrpc/);
  assert.throws(
    () => createServer({ maxConnectionAgeMs: 10, "grpc.max_connection_age_ms": 20 }),
    /conflicts with maxConnectionAgeMs = 10/,
  );
});

test("server names take effect: a request over grpc.max_receive_message_length is RESOURCE_EXHAUSTED", T, async (t) => {
  const { port } = await serve(t, undefined, { "grpc.max_receive_message_length": 100 });
  const { client } = echoClient(t, port);
  assert.equal((await client.unary({ message: "fits" })).message, "fits");
  await rejectsWith(client.unary({ message: "y".repeat(500) }), Code.RESOURCE_EXHAUSTED);
});

test("-1 (no limit) for grpc.max_receive_message_length also takes compressed messages, on both sides", T, async (t) => {
  const { port } = await serve(t, undefined, { "grpc.max_receive_message_length": -1, compression: "gzip" });
  const { client } = echoClient(t, port, { "grpc.max_receive_message_length": -1, "grpc.default_compression_algorithm": 2 });
  const payload = new Uint8Array(64 * 1024).fill(7);
  const reply = await client.unary({ message: "big", payload });
  assert.equal(reply.payload.length, payload.length);
});

test("docs/options.md lists every name tsgrpc knows, on the right side", () => {
  const doc = readFileSync(new URL("../../../../docs/options.md", import.meta.url), "utf8");
  for (const [side, table] of [["channel", CHANNEL_ARGS], ["server", SERVER_ARGS]] as const) {
    const section = doc.slice(doc.indexOf(`<!-- ${side} names -->`), doc.indexOf(`<!-- end ${side} names -->`));
    assert.ok(section.length > 0, `docs/options.md has a ${side} section`);
    for (const name of Object.keys(table)) assert.ok(section.includes(`\`${name}\``), `docs/options.md lists ${name} for the ${side}`);
    const documented = [...section.matchAll(/`(grpc\.[a-z0-9_.]+)`/g)].map((m) => m[1]!);
    for (const name of documented) assert.ok(name in table, `docs/options.md lists ${name} for the ${side}, which tsgrpc does not know there`);
  }
});
