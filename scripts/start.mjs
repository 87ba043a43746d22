#!/usr/bin/env node
// The main job (`npm start`): starts the example servers (RouteGuide, Users) and the Users web app on
// free ports of 127.0.0.1, runs both command-line clients against them, fetches the web app's streaming
// endpoint once, then keeps everything running for you to try until Ctrl-C.
//   npm start               run the demo and keep serving
//   npm start -- --once     run the demo and exit (non-zero if any step failed)
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const once = process.argv.includes("--once");
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs a compiled program of the repository (dist/, built by `npm start`) with a prefix on each output line. */
function run(label, file, args) {
  const child = spawn(process.execPath, [file, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = (stream, out) => {
    let rest = "";
    stream.on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop();
      for (const line of lines) out.write(`[${label}] ${line}\n`);
    });
    stream.on("end", () => rest && out.write(`[${label}] ${rest}\n`));
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  children.push(child);
  child.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  return child;
}

/** Resolves once something accepts TCP connections on the port; rejects after `ms`. */
async function waitForPort(port, child, ms = 20_000) {
  const giveUpAt = Date.now() + ms;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    if (Date.now() > giveUpAt) throw new Error(`nothing listening on port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
}

process.on("SIGINT", () => {
  console.log("\nstopping the examples");
  stopAll();
  process.exit(0);
});

async function main() {
  const [routePort, usersPort, webPort] = [await freePort(), await freePort(), await freePort()];
  console.log("tsgrpc examples: starting the RouteGuide server, the Users server and the Users web app\n");
  const routeServer = run("route_guide server", "examples/route_guide/dist/src/server.js", [`--port=${routePort}`]);
  const usersServer = run("users server", "examples/users/dist/src/server.js", [`--port=${usersPort}`]);
  const web = run("users web", "examples/users/dist/src/web.js", [`--port=${webPort}`, `--target=127.0.0.1:${usersPort}`]);
  await Promise.all([waitForPort(routePort, routeServer), waitForPort(usersPort, usersServer), waitForPort(webPort, web)]);

  let failures = 0;
  console.log("\n== RouteGuide client: all four call kinds ==");
  failures += (await run("route_guide client", "examples/route_guide/dist/src/client.js", [`--target=127.0.0.1:${routePort}`]).exited) === 0 ? 0 : 1;
  console.log("\n== Users client: CreateUser with metadata, GetUsers streaming ==");
  failures += (await run("users client", "examples/users/dist/src/client.js", [`--target=127.0.0.1:${usersPort}`]).exited) === 0 ? 0 : 1;

  console.log(`\n== Users web app: GET http://127.0.0.1:${webPort}/users/ (streamed JSON) ==`);
  try {
    const response = await fetch(`http://127.0.0.1:${webPort}/users/`);
    console.log(`HTTP ${response.status} ${response.headers.get("content-type")}`);
    for await (const chunk of response.body) process.stdout.write(Buffer.from(chunk).toString());
    if (!response.ok) failures++;
  } catch (err) {
    console.error(`web app request failed: ${err.message}`);
    failures++;
  }

  console.log(failures === 0 ? "\nall examples ran." : `\n${failures} example step(s) failed.`);
  if (once) {
    stopAll();
    process.exit(failures === 0 ? 0 : 1);
  }
  console.log(`
Everything keeps running until Ctrl-C. Try:
  curl -N http://127.0.0.1:${webPort}/users/          (or open it in a browser)
  npm run route_guide:client -- --target=127.0.0.1:${routePort}
  npm run users:client -- --target=127.0.0.1:${usersPort}`);
}

main().catch((err) => {
  console.error(`npm start failed: ${err.message}`);
  stopAll();
  process.exit(1);
});
