/**
 * Routers on the app's real route table: what one `match` costs in our
 * ApiRouter and in Hono's routers that accept the table (LinearRouter,
 * PatternRouter, TrieRouter; SmartRouter in Hono's two presets, which picks
 * the first of its routers that accepts every route). The table is the one
 * createApp registers: its two `*` middlewares, then every route of
 * `app.routes`, in order. Requests: the session GET's `/api/v1/users/me`
 * alone (the hot path), and a mix of every route (patterns with changing
 * ids) plus an unknown path. CPU time of this process, best of a few
 * rounds of about 20 ms, in ns per match; the ratio is to ApiRouter (above 1: slower).
 *
 *   node --import tsx bench/router.ts [--json]
 *   node_modules/deno/deno run -A bench/router.ts
 *   node_modules/bun/bin/bun.exe bench/router.ts
 */
import process from "node:process";
import type { Router } from "hono/router";
import { LinearRouter } from "hono/router/linear-router";
import { PatternRouter } from "hono/router/pattern-router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { parseConfig } from "../src/app/config.ts";
import { createApp } from "../src/app/create-app.ts";
import { createPasswordHasher } from "../src/auth/password.ts";
import { ApiRouter } from "../src/http/router.ts";
import { createLogger } from "../src/lib/log.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";

const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const ROUNDS = 7;
const WARM_UP = 20_000;
const ORIGIN = "http://127.0.0.1:5000";

const config = parseConfig({ AUTH_TYPE: "session_db_auth", STORAGE: "memory" }, "/");
const app = createApp({
  config,
  driver: createMemoryDriver(),
  log: createLogger("warn", () => {}, config.logFormat),
  hasher: createPasswordHasher(),
});
const table: [string, string][] = [["ALL", "/*"], ["ALL", "/*"], ...app.routes.map((r): [string, string] => [r.method, r.path])];

const candidates: [string, () => Router<number>][] = [
  ["ApiRouter (ours)", () => new ApiRouter()],
  ["LinearRouter", () => new LinearRouter()],
  ["PatternRouter", () => new PatternRouter()],
  ["TrieRouter", () => new TrieRouter()],
  ["SmartRouter [RegExp, Trie] (hono)", () => new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] })],
  ["SmartRouter [Linear, Trie] (hono/quick)", () => new SmartRouter({ routers: [new LinearRouter(), new TrieRouter()] })],
];

// Every route once, a pattern's parameter changing between requests, and a path no route has.
const ids = Array.from({ length: 16 }, (_, i) => crypto.randomUUID().slice(0, 32 - i));
const mix: [string, string][] = [];
for (let i = 0; i < ids.length; i++) {
  for (const [method, path] of table.slice(2)) mix.push([method, path.replace(/:[a-z_]+/g, ids[i])]);
  mix.push(["GET", `/api/v1/nowhere/${ids[i]}`]);
}
const requests = { "GET /api/v1/users/me": [["GET", "/api/v1/users/me"]] as [string, string][], "every route": mix };

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
let sink = 0;
/** Best CPU ns per match over ROUNDS rounds of about 20 ms each (a slow router gets fewer matches), after a warm-up. */
function nsPerMatch(router: Router<number>, paths: [string, string][]): number {
  const reqs = paths.map(([method, path]) => [method, ORIGIN + path]);
  const run = (n: number) => {
    const t0 = cpuMicros();
    for (let i = 0; i < n; i++) {
      const [method, url] = reqs[i % reqs.length];
      // A new string per request, as Hono's getPath slices it from the URL
      // (a string used again would keep its hash and flatter Map lookups).
      sink += router.match(method, url.slice(ORIGIN.length))[0].length;
    }
    return ((cpuMicros() - t0) * 1000) / n;
  };
  const n = Math.max(1000, Math.min(500_000, Math.round(20e6 / run(WARM_UP))));
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) best = Math.min(best, run(n));
  return best;
}

/** The handlers a router gives for a request, with their parameters: every router must agree with ours. */
function answer(router: Router<number>, method: string, path: string): string {
  const [found, stash] = router.match(method, path);
  return JSON.stringify(found.map(([h, p]) => {
    const params = stash ? Object.fromEntries(Object.entries(p).map(([k, i]) => [k, stash[i as number]])) : p;
    return [h, params];
  }));
}

const results: Record<string, Record<string, number | string>> = {};
let reference: ApiRouter<number> | null = null;
for (const [name, make] of candidates) {
  const router = make();
  try {
    table.forEach(([method, path], i) => router.add(method, path, i));
    if (reference === null) reference = router as ApiRouter<number>;
    for (const [method, path] of mix) {
      const [a, b] = [answer(router, method, path), answer(reference, method, path)];
      if (a !== b) throw new Error(`${method} ${path}: ${a}, ours ${b}`);
    }
  } catch (e) {
    results[name] = { refused: (e as Error).message.split("\n")[0] };
    continue;
  }
  results[name] = Object.fromEntries(Object.entries(requests).map(([label, reqs]) => [label, nsPerMatch(router, reqs)]));
}

const ours = results[candidates[0][0]];
/** One router's figures for a request set: ns per match and its ratio to ours. */
const cell = (row: Record<string, number | string>, k: string) =>
  typeof row[k] === "number" ? `${(row[k] as number).toFixed(0)} (${((row[k] as number) / (ours[k] as number)).toFixed(2)})` : "";
const labels = Object.keys(requests);
if (process.argv.includes("--json")) {
  // For bench/run.ts: one markdown row per router.
  const rows = Object.entries(results).map(([name, row]) =>
    `| ${RUNTIME} | ${name} | ${row.refused ? `refused: ${row.refused}` : labels.map((k) => cell(row, k)).join(" | ")} |`
  );
  process.stdout.write(JSON.stringify({ runtime: RUNTIME, routes: table.length, results, rows }) + "\n");
} else {
  console.log(`${RUNTIME}: CPU ns per match on ${table.length} routes, best of ${ROUNDS} rounds (× ours)`);
  for (const [name, row] of Object.entries(results)) {
    const cells = labels.map((k) => `${k} ${cell(row, k)}`);
    console.log(`  ${name.padEnd(40)} ${row.refused ? `refused: ${row.refused}` : cells.join("   ")}`);
  }
}
if (sink < 0) console.log(sink);
