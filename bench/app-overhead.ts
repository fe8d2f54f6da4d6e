/**
 * The app's own cost per request, in-process (no sockets, no HTTP parser):
 * `app.fetch` of GET /api/v1/users/me with a session cookie, against a bare
 * Hono app doing the same cookie → Map → JSON work, interleaved. CPU time
 * of this thread only, so other tenants of the machine barely move it. Run
 * it on each runtime to see where the service's overhead sits:
 *
 *   node --import tsx bench/app-overhead.ts [variant ...]
 *   node_modules/deno/deno run -A bench/app-overhead.ts
 *   node_modules/bun/bin/bun.exe bench/app-overhead.ts
 *
 * Variants: duties (the ceiling plus the duties of every answer, see
 * bench/lib/ceiling-apps.ts), session (memory storage, session_db_auth,
 * access log on into a sink that drops lines), quiet (LOG_LEVEL=warn),
 * idle (SESSION_IDLE_TIMEOUT=1800), basic, kv. Default: all.
 */
import process from "node:process";
import { createApp } from "../src/app/create-app.ts";
import { parseConfig } from "../src/app/config.ts";
import { createPasswordHasher } from "../src/auth/password.ts";
import { createLogger } from "../src/lib/log.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";
import { createKvDriver } from "../src/storage/kv/index.ts";
import { openKvStore } from "../src/storage/kv/open.ts";
import { createUsersRepo } from "../src/repos/users.ts";
import type { StorageDriver } from "../src/storage/driver.ts";
import { useNodeCryptoSha256 } from "../src/entry/native-hash.ts";
import { ceilingApp, dutiesApp } from "./lib/ceiling-apps.ts";

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;
const RUNTIME = typeof deno !== "undefined" ? "deno" : "Bun" in globalThis ? "bun" : "node";
const EMAIL = "bench@hbtn.io";
const PASSWORD = "Tr0mbone-Sky-4";

async function service(
  variant: string,
): Promise<{ app: { fetch: (r: Request) => Response | Promise<Response> }; headers: Record<string, string> }> {
  const env: Record<string, string> = { AUTH_TYPE: variant === "basic" ? "basic_auth" : "session_db_auth", STORAGE: "memory" };
  if (variant === "quiet") env.LOG_LEVEL = "warn";
  if (variant === "idle") env.SESSION_IDLE_TIMEOUT = "1800";
  const config = parseConfig(env, "/");
  let driver: StorageDriver = createMemoryDriver();
  if (variant === "kv") {
    driver = createKvDriver(await openKvStore(":memory:", { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined }), { now: Date.now });
  }
  const hasher = createPasswordHasher({ iterations: 1000 });
  await createUsersRepo({ driver, hasher, now: Date.now, passwordMinLength: 8 }).create({ email: EMAIL, password: PASSWORD });
  let dropped = 0;
  const log = createLogger(config.logLevel, () => void dropped++, config.logFormat);
  const app = createApp({ config, driver, log, hasher, peerAddress: () => "127.0.0.1" });
  if (variant === "basic") {
    return { app, headers: { authorization: "Basic " + btoa(`${EMAIL}:${PASSWORD}`) } };
  }
  const r = await app.request("http://127.0.0.1/api/v1/auth_session/login", {
    method: "POST",
    body: new URLSearchParams({ email: EMAIL, password: PASSWORD }),
  });
  const cookie = (r.headers.get("set-cookie") ?? "").split(";")[0];
  if (r.status !== 200) throw new Error(`login: ${r.status}`);
  return { app, headers: { cookie } };
}

// The token hash the served app uses.
useNodeCryptoSha256();

const cpuMicros = () => process.cpuUsage().user + process.cpuUsage().system;

async function run(fetch: (r: Request) => Response | Promise<Response>, headers: Record<string, string>, n: number): Promise<number> {
  const url = "http://127.0.0.1:5000/api/v1/users/me";
  const t0 = cpuMicros();
  for (let i = 0; i < n; i++) {
    const res = await fetch(new Request(url, { headers }));
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.text();
  }
  return (cpuMicros() - t0) / n;
}

const variants = process.argv.slice(2).length ? process.argv.slice(2) : ["duties", "session", "quiet", "idle", "basic", "kv"];
const N = 20_000;
const ROUNDS = 5;
const svc = new Map<string, Awaited<ReturnType<typeof service>>>();
const services = variants.filter((v) => v !== "duties");
for (const v of services) svc.set(v, await service(v));
const first = svc.get(services[0] ?? "session") ?? await service("session");
const token = first.headers.cookie?.split("=")[1] ?? "x";
const ceil = ceilingApp(token, "_my_session_id");
const ceilHeaders = { cookie: first.headers.cookie ?? "_my_session_id=x" };
if (variants.includes("duties")) {
  // Its access log into a sink that drops lines, as the service variants'.
  const log = createLogger("info", () => {}, "text");
  svc.set("duties", { app: dutiesApp(token, "_my_session_id", log, () => "127.0.0.1"), headers: ceilHeaders });
}
// Warm-up: every code path compiled before anything is measured.
await run(ceil.fetch, ceilHeaders, N);
for (const [, s] of svc) await run(s.app.fetch, s.headers, N);

const results = new Map<string, number[]>([["ceiling", []], ...variants.map((v): [string, number[]] => [v, []])]);
for (let round = 0; round < ROUNDS; round++) {
  results.get("ceiling")!.push(await run(ceil.fetch, ceilHeaders, N));
  for (const [v, s] of svc) results.get(v)!.push(await run(s.app.fetch, s.headers, N));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const c = median(results.get("ceiling")!);
console.log(`${RUNTIME}: CPU µs per in-process request (median of ${ROUNDS} × ${N})`);
for (const [name, xs] of results) {
  const m = median(xs);
  console.log(`  ${name.padEnd(8)} ${m.toFixed(2).padStart(7)} µs  (+${(m - c).toFixed(2)} µs over the ceiling)`);
}
process.exit(0);
