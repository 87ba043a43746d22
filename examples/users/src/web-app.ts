/**
 * The article's Flask web app, in plain node:http: `GET /users/` calls GetUsers and streams every result
 * to the browser the moment it arrives.
 *
 * Response format: NDJSON (`application/x-ndjson`): one JSON object per line, each the proto3 JSON form of
 * a GetUsersResult (what the article's MessageToJson makes, on one line), e.g.
 *     {"user":{"username":"alexa","userId":1}}
 * Node sends it with chunked transfer encoding, one chunk per result, as each one comes off the gRPC stream.
 *
 * Errors: a gRPC error before the first result becomes an HTTP error status (UNAVAILABLE 503, NOT_FOUND 404,
 * DEADLINE_EXCEEDED 504, ... see http-status.ts) with the body {"error": {"code": "NOT_FOUND", "message": "..."}}.
 * Once the first result is out the status (200) is already sent, so a later error ends the stream with that
 * same {"error": ...} object as its last line.
 */
import { once } from "node:events";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { create, toJson } from "@bufbuild/protobuf";
import { Code, codeName, RpcError, type Client } from "tsgrpc";
import type { Users } from "./gen/users_pb.js";
import { GetUsersRequestSchema, GetUsersResultSchema, UserSchema } from "./gen/users_types_pb.js";
import { httpStatusFor } from "./http-status.js";

export interface UsersWebAppOptions {
  /** The gRPC client the app calls. */
  users: Client<typeof Users>;
  /** Timeout of each GetUsers call (default 30 s, as in the article). */
  timeoutMs?: number;
  /** The users looked up when the request names none (default: the article's alexa and christie). */
  defaultUsernames?: readonly string[];
  /** Where request log lines go (default: none). */
  log?: (line: string) => void;
}

export const NDJSON = "application/x-ndjson; charset=utf-8";

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Users web app</title></head>
<body>
<h1>Users web app</h1>
<p>A small HTTP front end for the <code>Users</code> gRPC service.</p>
<ul>
  <li><a href="/users/"><code>GET /users/</code></a> calls <code>GetUsers</code> for alexa and christie and streams
    each <code>GetUsersResult</code> back as soon as it arrives, one JSON object per line
    (<code>application/x-ndjson</code>).</li>
  <li><code>GET /users/?username=ann&amp;username=bob</code> looks up the users you name instead.</li>
</ul>
<p>A gRPC error becomes an HTTP error status with a body <code>{"error": {"code": "...", "message": "..."}}</code>;
an error after the stream has started is sent as a last line of that same shape.</p>
</body>
</html>
`;

/** The JSON body (or last NDJSON line) describing a failed call. */
export function errorBody(code: Code, message: string): string {
  return JSON.stringify({ error: { code: codeName(code), message } });
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(body + "\n");
}

/** The request handler, for `http.createServer(createUsersWebApp({ users }))`. */
export function createUsersWebApp(options: UsersWebAppOptions): RequestListener {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const defaultUsernames = options.defaultUsernames ?? ["alexa", "christie"];
  const log = options.log ?? (() => {});

  async function streamUsers(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const requested = url.searchParams.getAll("username").filter((name) => name !== "");
    const usernames = requested.length > 0 ? requested : defaultUsernames;
    // As in the article: look up a set of users, each asked for with user_id 1.
    const request = create(GetUsersRequestSchema, { user: usernames.map((username) => create(UserSchema, { username, userId: 1 })) });

    // When the browser goes away mid-stream, cancel the gRPC call too.
    const cancel = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) cancel.abort();
    });

    const metadata = { ip: req.socket.remoteAddress ?? "unknown" };
    let sent = 0;
    try {
      for await (const result of options.users.getUsers(request, { timeoutMs, metadata, signal: cancel.signal })) {
        if (sent === 0) res.writeHead(200, { "content-type": NDJSON, "cache-control": "no-store", "x-content-type-options": "nosniff" });
        sent++;
        // One write per result: node:http sends it right away as one chunk.
        if (!res.write(JSON.stringify(toJson(GetUsersResultSchema, result)) + "\n")) {
          await once(res, "drain", { signal: cancel.signal });
        }
      }
      if (sent === 0) res.writeHead(200, { "content-type": NDJSON, "cache-control": "no-store" });
      res.end();
      log(`GET ${url.pathname}${url.search} -> 200, ${sent} result(s)`);
    } catch (err) {
      if (cancel.signal.aborted) {
        log(`GET ${url.pathname}${url.search} -> client went away after ${sent} result(s)`);
        return;
      }
      const error = RpcError.from(err);
      if (sent === 0) {
        const status = httpStatusFor(error.code);
        sendJson(res, status, errorBody(error.code, error.details));
        log(`GET ${url.pathname}${url.search} -> ${status} (${codeName(error.code)}: ${error.details})`);
      } else {
        res.end(errorBody(error.code, error.details) + "\n");
        log(`GET ${url.pathname}${url.search} -> 200, ${sent} result(s), then ${codeName(error.code)}: ${error.details}`);
      }
    }
  }

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/users/" || url.pathname === "/users") {
      if (req.method !== "GET") {
        sendJson(res, 405, JSON.stringify({ error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} is not allowed here; use GET` } }), { allow: "GET" });
        return;
      }
      streamUsers(req, res, url).catch((err: unknown) => {
        // Not expected: streamUsers handles call errors itself. Don't leave the browser hanging.
        log(`GET ${url.pathname} failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) sendJson(res, 500, errorBody(Code.INTERNAL, "internal error"));
        else res.destroy();
      });
      return;
    }
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(req.method === "HEAD" ? undefined : INDEX_HTML);
      return;
    }
    sendJson(res, 404, JSON.stringify({ error: { code: "NOT_FOUND", message: `no such page: ${url.pathname}` } }));
  };
}
