/**
 * Serving on Deno, hardened against connection floods.
 *
 * `Deno.serve` (Deno 2.9) has no header, request or idle timeout and no
 * connection cap, and when accepting fails for lack of descriptors its
 * promise rejects and the process dies (a flood of idle connections took
 * the server down for good). So connections are accepted here, one loop
 * over `Deno.listen`, and each is served with `Deno.serveHttp`, which Deno 2
 * removed from its type definitions but still ships: that way the timeouts
 * and the cap can be applied per connection. Where `Deno.serveHttp` is
 * missing (a future Deno), `Deno.serve` is used, restarted whenever its
 * accept loop fails, with a warning that the timeouts are not enforced.
 */
import type { Config } from "../app/config.ts";
import { SERVER_ERROR_HEADERS } from "../http/respond.ts";
import type { Served } from "./serve.ts";

type Fetch = (req: Request, info: { remoteAddr: Deno.Addr }) => Response | Promise<Response>;
type RequestEvent = { request: Request; respondWith(r: Response): Promise<void> };
type HttpConn = { nextRequest(): Promise<RequestEvent | null>; close(): void };
const serveHttp = (Deno as unknown as { serveHttp?: (conn: Deno.Conn) => HttpConn }).serveHttp;

/**
 * Descriptors this process can still open: Deno refuses /proc/self/limits
 * without --allow-all and has no getrlimit, so /dev/null is opened until
 * that fails (at most `max` times), then everything is closed again. An
 * open and its close cost about 15 µs: 2,048 of them take 30 ms of startup
 * (16,384 took 155 ms), and a default cap of about 1,600 connections per
 * process is plenty behind a proxy; MAX_CONNECTIONS sets a higher one.
 */
function freeDescriptors(max = 2_048): number {
  const files: Deno.FsFile[] = [];
  try {
    while (files.length < max) files.push(Deno.openSync("/dev/null"));
  } catch {
    // the limit
  }
  for (const f of files) f.close();
  return files.length;
}

const BUSY = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n",
);
const isCode = (e: unknown, ...codes: string[]) => codes.includes((e as { code?: string })?.code ?? "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Serves `fetch` on Deno (see the module comment). */
export function serveDeno(fetch: Fetch, config: Config, log: (line: string) => void): Promise<Served> {
  if (!serveHttp) return serveRestarting(fetch, config, log);
  const cap = config.maxConnections || Math.max(16, Math.floor(freeDescriptors() * 0.8) - 16);
  const listener = Deno.listen({ hostname: config.host, port: config.port });
  // Open connections and when each must have moved on (ms, performance.now()):
  // one sweep every half second closes the late ones. Two timers set and
  // three cleared per request cost about 3 µs on Deno; a deadline is a number.
  const live = new Set<{ http: HttpConn; deadline: number }>();
  const sweep = setInterval(() => {
    const t = performance.now();
    for (const c of live) {
      if (c.deadline > t) continue;
      live.delete(c);
      closeQuietly(c.http);
    }
  }, 500);
  const handlers = new Set<Promise<void>>();
  let stopping = false;
  let refusing = 0;
  let refused = 0;
  // One descriptor kept spare: at the limit, it is freed to accept the waiting
  // connection and close it at once (what libuv does for Node).
  const reserve: { spare: Deno.FsFile | null } = { spare: null };
  const keepSpare = () => {
    try {
      reserve.spare ??= Deno.openSync("/dev/null");
    } catch {
      // retried at the next failure
    }
  };
  keepSpare();

  const refuse = (conn: Deno.Conn) => {
    if (refused++ % 1000 === 0) log(`refusing connections beyond MAX_CONNECTIONS=${cap} (${refused} so far)`);
    // Under a storm, a plain close; otherwise a 503 that a client can read.
    if (refusing >= 32) return void closeQuietly(conn);
    refusing++;
    conn.write(BUSY).catch(() => {}).finally(() => {
      refusing--;
      closeQuietly(conn);
    });
  };

  async function handle(conn: Deno.Conn): Promise<void> {
    const http = serveHttp!(conn);
    // The first request head must come in time.
    const state = { http, deadline: performance.now() + config.headersTimeout * 1000 };
    live.add(state);
    try {
      for (let event = await http.nextRequest(); event && !stopping; event = await http.nextRequest()) {
        state.deadline = config.requestTimeout ? performance.now() + config.requestTimeout * 1000 : Infinity;
        let res: Response;
        try {
          res = await fetch(event.request, { remoteAddr: conn.remoteAddr });
        } catch (e) {
          log(`request failed: ${(e as Error).message}`);
          res = new Response(JSON.stringify({ error: "Internal server error" }), {
            status: 500,
            headers: SERVER_ERROR_HEADERS,
          });
        }
        await event.respondWith(res);
        // The next request on this connection must come within the idle time.
        state.deadline = stopping ? 0 : performance.now() + config.keepAliveTimeout * 1000;
      }
    } catch {
      // The client went away mid-request: nothing to answer.
    } finally {
      live.delete(state);
      closeQuietly(http);
    }
  }

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (stopping || e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        if (isCode(e, "EMFILE", "ENFILE") && reserve.spare) {
          reserve.spare.close();
          reserve.spare = null;
          try {
            closeQuietly(await listener.accept());
          } catch {
            // still failing
          }
          keepSpare();
        } else await sleep(20);
        continue; // an accept error never ends the loop
      }
      if (handlers.size >= cap) {
        refuse(conn);
        continue;
      }
      const h = handle(conn).finally(() => handlers.delete(h));
      handlers.add(h);
    }
  })();

  const port = (listener.addr as Deno.NetAddr).port;
  return Promise.resolve({
    port,
    maxConnections: cap,
    async stop() {
      stopping = true;
      listener.close();
      await accepting;
      // Idle connections close now; those with a request in flight once it is answered.
      clearInterval(sweep);
      for (const c of live) closeQuietly(c.http);
      await Promise.all(handlers);
      reserve.spare?.close();
    },
  });
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

/** Without `Deno.serveHttp`: `Deno.serve`, started again whenever its accept loop dies. */
function serveRestarting(fetch: Fetch, config: Config, log: (line: string) => void): Promise<Served> {
  log("this Deno has no Deno.serveHttp: HEADERS_TIMEOUT, REQUEST_TIMEOUT, KEEP_ALIVE_TIMEOUT and MAX_CONNECTIONS are not enforced");
  let stopping = false;
  let server: Deno.HttpServer;
  return new Promise((resolve, reject) => {
    const start = (port: number, first: boolean) => {
      try {
        server = Deno.serve({
          hostname: config.host,
          port,
          onListen: ({ port: p }) => {
            if (first) resolve({ port: p, maxConnections: 0, stop: () => ((stopping = true), server.shutdown()) });
          },
          onError: () =>
            new Response(JSON.stringify({ error: "Internal server error" }), {
              status: 500,
              headers: SERVER_ERROR_HEADERS,
            }),
        }, fetch);
      } catch (e) {
        if (first) return reject(e);
        return void setTimeout(() => start(port, false), 100);
      }
      server.finished.catch((e) => {
        if (stopping) return;
        log(`server stopped (${(e as Error).message}); starting it again`);
        setTimeout(() => start(port, false), 20);
      });
    };
    start(config.port, true);
  });
}
