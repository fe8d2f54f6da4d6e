/**
 * The ceiling for a session-authenticated GET: a bare Hono app that reads the
 * session cookie, finds the user in a `Map` and returns its JSON. No
 * middleware, no hashing, no storage layer: whatever the real service does
 * on top of this is its overhead. One file for Deno, Bun and Node, so each
 * runtime is compared with itself.
 *
 *   deno run -A bench/ceiling.ts | bun bench/ceiling.ts | node --import tsx bench/ceiling.ts
 *
 * Env: API_HOST (127.0.0.1), API_PORT (0: a free port), CEILING_TOKEN (the
 * cookie value that maps to the user), SESSION_NAME (_my_session_id),
 * CEILING_SERVER (`service`: serve through the service's own server code,
 * src/entry/node-http.ts, instead of the runtime's plain one),
 * CEILING_DUTIES (`1`: add the duties every answer of the service has, see
 * bench/lib/ceiling-apps.ts).
 */
import type { Context } from "hono";
import process from "node:process";
import { ceilingApp, dutiesApp } from "./lib/ceiling-apps.ts";

declare const Deno: {
  version: { deno: string };
  serve(
    o: { hostname: string; port: number; onListen: (a: { port: number }) => void },
    h: (r: Request) => Response | Promise<Response>,
  ): unknown;
};
declare const Bun: {
  version: string;
  serve(o: { hostname: string; port: number; fetch: (r: Request) => Response | Promise<Response> }): { port: number };
};

const host = process.env.API_HOST || "127.0.0.1";
const port = Number(process.env.API_PORT || 0);
const cookieName = process.env.SESSION_NAME || "_my_session_id";
const token = process.env.CEILING_TOKEN || "ceiling-token";
const withDuties = process.env.CEILING_DUTIES === "1";
const runtime = typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node";

let app = ceilingApp(token, cookieName);
if (withDuties) {
  // The service's own pieces, installed as its entry files install them.
  const { createLogger } = await import("../src/lib/log.ts");
  const { createLogSink } = await import("../src/entry/log-sink.ts");
  const { useNodeCryptoSha256 } = await import("../src/entry/native-hash.ts");
  useNodeCryptoSha256();
  let clientOf: (c: Context) => string;
  if (runtime === "deno" && process.env.CEILING_SERVER !== "service") {
    const { getConnInfo } = await import("hono/deno");
    clientOf = (c) => getConnInfo(c).remote.address ?? "unknown";
  } else {
    // The service's server is node:http on every runtime.
    const { peerAddress } = await import("../src/entry/node-http.ts");
    clientOf = (c) => peerAddress(c) ?? "unknown";
  }
  const sink = createLogSink((text) => process.stderr.write(text));
  app = dutiesApp(token, cookieName, createLogger("info", sink.line), clientOf);
}

const listening = (p: number, runtime: string) => process.stderr.write(`listening on http://${host}:${p} (ceiling, ${runtime})\n`);

if (process.env.CEILING_SERVER === "service") {
  // The same app on the service's own server code (timeouts, connection cap):
  // what the service pays for its server rather than for its app.
  const { parseConfig } = await import("../src/app/config.ts");
  const config = { ...parseConfig({}, process.cwd()), host, port };
  const log = (line: string) => process.stderr.write(line + "\n");
  const { serveNodeHttp } = await import("../src/entry/node-http.ts");
  // deno-descriptors.ts is type-checked by `deno check` only: a specifier in a variable keeps tsc out of it.
  const denoDescriptors = "../src/entry/deno-descriptors.ts";
  const platform = typeof Deno !== "undefined"
    ? { descriptors: ((await import(denoDescriptors)) as { freeDescriptors: () => number }).freeDescriptors, acceptStopsAtLimit: true }
    : undefined;
  const served = await serveNodeHttp(app.fetch, config, log, platform);
  listening(served.port, `${runtime}, the service's server${withDuties ? ", with the duties" : ""}`);
} else if (typeof Deno !== "undefined") {
  Deno.serve({ hostname: host, port, onListen: ({ port: p }) => listening(p, `deno ${Deno.version.deno}`) }, app.fetch);
} else if (typeof Bun !== "undefined") {
  const server = Bun.serve({ hostname: host, port, fetch: app.fetch });
  listening(server.port, `bun ${Bun.version}`);
} else {
  // Imported only on Node: Deno and Bun serve natively.
  const { serve } = await import("@hono/node-server");
  serve({ fetch: app.fetch, hostname: host, port }, (info) => listening(info.port, `node ${process.version}`));
}
// The bench stops servers with SIGTERM; exit at once (nothing to flush).
process.on("SIGTERM", () => process.exit(0));
