// A RouteGuide service hosted in-process on 127.0.0.1 with a tsgrpc client to it, both closed after the test.
import type { TestContext } from "node:test";
import { createChannel, createClient, createServer } from "tsgrpc";
import type { RouteGuideClient } from "../../src/demos.js";
import { RouteGuide, type Feature } from "../../src/gen/route_guide_pb.js";
import { createRouteGuideService, type RouteGuideOptions } from "../../src/route-guide-service.js";

export async function serveRouteGuide(
  t: TestContext,
  features: readonly Feature[],
  options?: RouteGuideOptions,
): Promise<{ port: number; client: RouteGuideClient }> {
  const server = createServer().addService(RouteGuide, createRouteGuideService(features, options));
  const port = await server.bind("127.0.0.1:0");
  t.after(() => server.forceShutdown());
  const channel = createChannel(`127.0.0.1:${port}`);
  t.after(() => channel.close());
  return { port, client: createClient(RouteGuide, channel, { timeoutMs: 15_000 }) };
}
