import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import type { Config } from "../app/config.ts";
import { SERVER_ERROR_HEADERS } from "../http/respond.ts";
import type { Served } from "./serve.ts";

/** The peer address of a request served by node:http (Node, and Bun). */
export const peerAddress = (c: Context): string | undefined => getConnInfo(c).remote.address;

/** This process's soft limit of open files (Linux), 0 when it cannot be read. */
function openFilesLimit(): number {
  try {
    return Number(/^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Serves `fetch` with node:http, hardened against connection floods (Node,
 * and Bun, whose node:http honours all of it while `Bun.serve` has neither
 * a connection cap nor a settable header timeout):
 * - a request head must arrive within HEADERS_TIMEOUT and be answered within
 *   REQUEST_TIMEOUT, checked every second (Node's default checks every 30 s,
 *   which with its 60 s default kept a flooded server down for over a minute);
 * - an idle keep-alive connection closes after KEEP_ALIVE_TIMEOUT;
 * - beyond MAX_CONNECTIONS (by default 80 % of the open-files limit, leaving
 *   descriptors for the storage) a new connection is closed at once, so a
 *   flood is refused quickly instead of exhausting descriptors; at the limit
 *   itself libuv accepts and closes, and the process never dies.
 */
export function serveNodeHttp(
  fetch: (req: Request, env: unknown) => Response | Promise<Response>,
  config: Config,
  log: (line: string) => void,
): Promise<Served> {
  const limit = openFilesLimit();
  const cap = config.maxConnections || (limit ? Math.max(16, Math.floor(limit * 0.8) - 32) : 0);
  return new Promise((resolve, reject) => {
    const server = serve({
      fetch,
      hostname: config.host,
      port: config.port,
      serverOptions: {
        headersTimeout: config.headersTimeout * 1000,
        // Node requires requestTimeout >= headersTimeout; 0 turns it off.
        requestTimeout: config.requestTimeout && Math.max(config.requestTimeout, config.headersTimeout) * 1000,
        keepAliveTimeout: config.keepAliveTimeout * 1000,
        connectionsCheckingInterval: 1000,
      },
    }, (info: AddressInfo) => {
      // From here on, a server error is logged and the server goes on.
      server.off("error", reject);
      server.on("error", (e: Error) => log(`server error: ${e.message}`));
      let dropped = 0;
      server.on("drop", () => {
        if (dropped++ % 1000 === 0) log(`refusing connections beyond MAX_CONNECTIONS=${cap} (${dropped} so far)`);
      });
      resolve({
        port: info.port,
        maxConnections: cap,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections with no request in flight would hold close() open.
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
    // keepAliveTimeout is also a server property; set both, as the options alone are ignored by some versions.
    (server as { keepAliveTimeout?: number }).keepAliveTimeout = config.keepAliveTimeout * 1000;
    if (cap > 0) (server as { maxConnections?: number }).maxConnections = cap;
    // node:http's header timeout starts with a connection's first byte: one
    // that never sends anything would hold its descriptor forever. Such a
    // connection gets HEADERS_TIMEOUT for its first request too.
    const firstRequest = new WeakMap<object, ReturnType<typeof setTimeout>>();
    server.on("connection", (socket: Socket) => {
      const timer = setTimeout(() => socket.destroy(), config.headersTimeout * 1000);
      firstRequest.set(socket, timer);
      socket.once("close", () => clearTimeout(timer));
    });
    server.on("request", (req: { socket: Socket }) => clearTimeout(firstRequest.get(req.socket)));
    // A request the HTTP parser refuses still gets a JSON answer, like every other error.
    server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
      const [status, text] = err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout"]
        : [400, "Bad Request"];
      const body = JSON.stringify({ error: text });
      const headers = Object.entries(SERVER_ERROR_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.end(`HTTP/1.1 ${status} ${text}\r\n${headers}content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
    server.once("error", reject);
  });
}
