/**
 * The router's own cost per request: `match` of the service's route table by
 * its router (src/http/router.ts) against Hono's default, which gives up on
 * the RegExpRouter for this table (`/users/me` beside `/users/:id`) and
 * falls back to its TrieRouter. CPU time of this thread, in process, so other
 * tenants of the machine barely move it.
 *
 *   node --import tsx bench/router-cost.ts
 *   node_modules/deno/deno run -A bench/router-cost.ts
 *   node_modules/bun/bin/bun.exe bench/router-cost.ts
 */
import process from "node:process";
import type { Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { createApp } from "../src/app/create-app.ts";
import { parseConfig } from "../src/app/config.ts";
import { createPasswordHasher } from "../src/auth/password.ts";
import { ApiRouter } from "../src/http/router.ts";
import { createLogger } from "../src/lib/log.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";

const app = createApp({
  config: parseConfig({ AUTH_TYPE: "session_db_auth", STORAGE: "memory" }, "/"),
  driver: createMemoryDriver(),
  log: createLogger("warn", () => {}),
  hasher: createPasswordHasher({ iterations: 1000 }),
  peerAddress: () => "127.0.0.1",
});
const routers: Record<string, Router<unknown>> = {
  "this service's": new ApiRouter(),
  "Hono's default": new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] }),
};
for (const r of app.routes) for (const router of Object.values(routers)) router.add(r.method, r.path, r.handler);

const cpuMicros = () => process.cpuUsage().user + process.cpuUsage().system;
const N = 200_000;
const ROUNDS = 7;
const PATHS = ["/api/v1/users/me", "/api/v1/status", "/api/v1/users/5c8d5c0c-1b5a-4b7e-9a45-1f1a0f6c8a11"];
const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const [name, router] of Object.entries(routers)) {
    for (const path of PATHS) {
      const t0 = cpuMicros();
      let found = 0;
      for (let i = 0; i < N; i++) found += router.match("GET", path)[0].length;
      if (!found) throw new Error(`${name} router: no route for GET ${path}`);
      // Round 0 warms every path up and is not counted.
      if (round) results.set(`${name} GET ${path}`, [...(results.get(`${name} GET ${path}`) ?? []), (cpuMicros() - t0) / N]);
    }
  }
}
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
console.log(`${runtime}: CPU µs per match, median of ${ROUNDS} × ${N} (${app.routes.length} routes)`);
for (const [name, xs] of results) console.log(`  ${[...xs].sort((a, b) => a - b)[ROUNDS >> 1].toFixed(3).padStart(6)} µs  ${name}`);
process.exit(0);
