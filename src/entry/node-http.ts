import { getRequestListener } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Config } from "../app/config.ts";
import { framingProblem, refuse, shapeRuntimeAnswers } from "./http-framing.ts";
import type { Served } from "./serve.ts";

/** The peer address of a request served by node:http (Node, Bun and Deno). */
export const peerAddress = (c: Context): string | undefined => getConnInfo(c).remote.address;

/** This process's soft limit of open files (Linux), 0 when it cannot be read. */
export function openFilesLimit(): number {
  try {
    return Number(/^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** What serveNodeHttp needs to know of the runtime under its node:http. */
export type NodeHttpPlatform = {
  /** How many files the process may open, 0 when unknown. */
  descriptors: () => number;
  /**
   * True where node:http stops accepting for good once descriptors run out
   * (Deno 2.9, silently), where libuv on Node and Bun accepts and closes.
   */
  acceptStopsAtLimit: boolean;
};
const NODE: NodeHttpPlatform = { descriptors: openFilesLimit, acceptStopsAtLimit: false };

/**
 * Serves `fetch` with node:http, hardened against connection floods, on
 * every runtime: Node; Bun, whose node:http honours all of it while
 * `Bun.serve` has neither a connection cap nor a settable header timeout;
 * and Deno, whose node:http (Deno 2.9) honours the timeouts, the cap and
 * 'clientError' while `Deno.serve` has none of them.
 * - a request head must arrive within HEADERS_TIMEOUT and be answered within
 *   REQUEST_TIMEOUT, checked every second (Node's default checks every 30 s,
 *   which with its 60 s default kept a flooded server down for over a minute);
 * - an idle keep-alive connection closes after KEEP_ALIVE_TIMEOUT;
 * - beyond MAX_CONNECTIONS (by default 80 % of the open-files limit, leaving
 *   descriptors for the storage) a new connection is closed at once, so a
 *   flood is refused quickly instead of exhausting descriptors. At the limit
 *   itself libuv accepts and closes and Node never dies, but Deno's node:http
 *   stops accepting for good: there the cap and a listen queue sized to fit
 *   beside it are what keep the server up.
 */
export function serveNodeHttp(
  fetch: (req: Request, env: unknown) => Response | Promise<Response>,
  config: Config,
  log: (line: string) => void,
  platform: NodeHttpPlatform = NODE,
): Promise<Served> {
  const limit = config.maxConnections && !platform.acceptStopsAtLimit ? 0 : platform.descriptors();
  const cap = config.maxConnections || (limit ? Math.max(16, Math.floor(limit * 0.8) - 32) : 0);
  // Where accepting stops for good at the limit, a burst must not reach it:
  // one pass of the accept loop takes the whole listen queue before any
  // refused connection is closed, so the queue gets half of what the cap
  // leaves (measured on Deno 2.9 with `ulimit -n 256`: a queue of 511 took
  // the server down in 2 floods of 3, one of 63 or less in none of 5).
  const backlog = platform.acceptStopsAtLimit && limit ? Math.min(511, Math.max(8, Math.floor((limit - cap) / 2))) : 511;
  // An HTTP/1.0 request may come without Host: its URL gets the address served on.
  const listener = getRequestListener(fetch, { hostname: config.host.includes(":") ? `[${config.host}]` : config.host });
  const server = createServer({
    headersTimeout: config.headersTimeout * 1000,
    // Node requires requestTimeout >= headersTimeout; 0 turns it off.
    requestTimeout: config.requestTimeout && Math.max(config.requestTimeout, config.headersTimeout) * 1000,
    keepAliveTimeout: config.keepAliveTimeout * 1000,
    connectionsCheckingInterval: 1000,
    // Checked by framingProblem, to answer in JSON.
    requireHostHeader: false,
  }, (req, res) => {
    const problem = framingProblem(req);
    if (problem) refuse(res, 400, problem);
    else void listener(req, res);
  });
  // keepAliveTimeout is also a server property; set both, as the options alone are ignored by some versions.
  server.keepAliveTimeout = config.keepAliveTimeout * 1000;
  if (cap > 0) server.maxConnections = cap;
  // node:http's header timeout starts with a connection's first byte: one
  // that never sends anything would hold its descriptor forever. Such a
  // connection gets HEADERS_TIMEOUT for its first request too.
  const firstRequest = new WeakMap<object, ReturnType<typeof setTimeout>>();
  server.on("connection", (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), config.headersTimeout * 1000);
    firstRequest.set(socket, timer);
    socket.once("close", () => clearTimeout(timer));
  });
  server.on("request", (req: IncomingMessage) => clearTimeout(firstRequest.get(req.socket)));
  shapeRuntimeAnswers(server);
  let dropped = 0;
  server.on("drop", () => {
    if (dropped++ % 1000 === 0) log(`refusing connections beyond MAX_CONNECTIONS=${cap} (${dropped} so far)`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: config.port, host: config.host, backlog }, () => {
      // From here on, a server error is logged and the server goes on.
      server.off("error", reject);
      server.on("error", (e: Error) => log(`server error: ${e.message}`));
      resolve({
        port: (server.address() as AddressInfo).port,
        maxConnections: cap,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections with no request in flight would hold close() open.
            server.closeIdleConnections();
          }),
      });
    });
  });
}
