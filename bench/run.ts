/**
 * `npm run bench [-- --quick] [-- --runtimes node,bun]`: the service against
 * the best it could be, on this machine, in this run. Per runtime:
 *  - GET /api/v1/users/me with a session cookie vs an app that does only the
 *    duties every answer has, and that app vs bare Hono and a Map (both
 *    bench/ceiling.ts); with Basic auth, on Deno KV, on PostgreSQL
 *    (a fresh database on the server DATABASE_URL names, by default the
 *    local one) and with an idle timeout, and the forward-auth check
 *    (GET /api/v1/auth_session/check, same cookie), A/B interleaved;
 *  - logins/s vs raw PBKDF2 hashes/s of the same runtime on the same core,
 *    with a light /status probe during the login storm; sign-ups/s on
 *    PostgreSQL against the same raw figure;
 *  - file-store creates at 1k, 10k, 100k users, end to end and storage only;
 *  - startup time and RSS with 100k users, net of the same with 1k users.
 * Servers run on core 0, the load generator on core 1 (taskset). Prints a
 * progress line per measurement, then a markdown table, also written to
 * bench/results/latest.md (raw figures in latest.json).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { JobResult, Step } from "./loadgen.ts";
import { expectOk, fmt, helper, loadgen, loginStorm, runtimeVersion, service, sessionCookie } from "./lib/drive.ts";
import {
  cleanupAll,
  groupPids,
  installCleanup,
  pinned,
  PINNING,
  removeDir,
  ROOT,
  rssMiB,
  type Runtime,
  type Server,
  startServer,
  tempDir,
  tsCommand,
} from "./lib/procs.ts";
import { type CreateRow, median, NOISY, noisy, quantile, type RuntimeResult } from "./lib/figures.ts";
import { renderReport } from "./lib/report.ts";
import { checkSummary, expectCheck, targetPath } from "./lib/check-route.ts";
import { type BenchDatabase, benchDatabase } from "./lib/postgres.ts";
import { basicHeader, BENCH_USER, writeSeed } from "./lib/seed.ts";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const rtIndex = argv.findIndex((a) => a.startsWith("--runtimes"));
const rtText = rtIndex < 0 ? "deno,bun,node" : argv[rtIndex].includes("=") ? argv[rtIndex].split("=")[1] : (argv[rtIndex + 1] ?? "");
const runtimes = rtText.split(",").map((s) => s.trim()).filter(Boolean) as Runtime[];
if (!runtimes.length || runtimes.some((r) => !["deno", "bun", "node"].includes(r))) {
  console.error(`--runtimes takes a comma-separated list of deno, bun, node (got "${rtText}")`);
  process.exit(2);
}

// Sized so the default run takes about 15 minutes for three runtimes on a quiet 2-core machine (up to 30 on a
// busy one: every repetition noisy and given its extra one, starts slowed), --quick about 4.
const P = quick
  ? {
    getSec: 2,
    reps: 3,
    warmSec: 2,
    rawSec: 2,
    loginSec: 3,
    loginReps: 1,
    creates: 4,
    createSec: 3,
    storeCreates: 100,
    storeSec: 1,
    startups: 1,
    settleMs: 500,
  }
  : {
    getSec: 8,
    reps: 3,
    warmSec: 2,
    rawSec: 4,
    loginSec: 6,
    loginReps: 2,
    creates: 16,
    createSec: 5,
    storeCreates: 300,
    storeSec: 2,
    startups: 3,
    settleMs: 1000,
  };
// --quick is a smoke run: every code path, fewer sizes.
const SIZES = quick ? [1_000, 100_000] : [1_000, 10_000, 100_000];
// Extra GET repetitions per runtime that may replace noisy ones (bounded, so a busy machine lengthens the run by a third at most).
const EXTRA_REPS = quick ? 0 : 1;
const CONNECTIONS = 32;
// A hard bound on the whole run, whatever hangs: well above what a busy machine takes, so only a hang reaches it.
const WATCHDOG_MS = (quick ? 15 : 45) * 60_000 * (runtimes.length / 3);
setTimeout(() => {
  console.error(`bench exceeded ${WATCHDOG_MS / 60_000} minutes: aborting`);
  cleanupAll();
  process.exit(1);
}, WATCHDOG_MS).unref();

const t0 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET figures (session, ceiling, Basic; interleaved, order rotated per repetition), then the login storm on the session server. */
async function httpPhase(rt: Runtime, res: RuntimeResult): Promise<void> {
  const dir = tempDir("http");
  await writeSeed(dir, 1_000);
  const servers: Server[] = [];
  let db: BenchDatabase | null = null;
  try {
    db = await benchDatabase();
  } catch (e) {
    res.errors.push(`PostgreSQL figures: ${(e as Error).message}`);
  }
  try {
    // The file store serves every read from memory; unlike STORAGE=memory it
    // takes in the seeded data folder (a memory store starts empty). Each
    // server holds its folder's lock, so each gets a seeded folder of its own.
    const seeded = async () => {
      const own = tempDir("http");
      await writeSeed(own, 1_000);
      return { STORAGE: "file", DATA_DIR: own };
    };
    // A login storm comes from many clients (each loop worker names its own
    // through X-Forwarded-For): one client may only have a few password checks in flight.
    const session = await service(rt, { ...(await seeded()), AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true" });
    servers.push(session);
    // The same with an idle timeout: every request slides the window (a store write at most once a minute).
    const idle = await service(rt, { ...(await seeded()), AUTH_TYPE: "session_db_auth", SESSION_IDLE_TIMEOUT: "1800" });
    servers.push(idle);
    const basic = await service(rt, { ...(await seeded()), AUTH_TYPE: "basic_auth" });
    servers.push(basic);
    // The same session GET on Deno KV (a local file; the seed is imported into the empty store at startup).
    const kv = await service(rt, { STORAGE: "kv", DATA_DIR: dir, KV_PATH: join(dir, "bench.kv"), AUTH_TYPE: "session_db_auth" });
    servers.push(kv);
    const kvCookie = await sessionCookie(kv.url);
    // The same on PostgreSQL: a fresh database, the seed imported at startup.
    const pg = db ? await service(rt, { STORAGE: "postgres", DATABASE_URL: db.url, DATA_DIR: dir, AUTH_TYPE: "session_db_auth" }) : null;
    if (pg) servers.push(pg);
    const pgCookie = pg ? await sessionCookie(pg.url) : "";
    const cookie = await sessionCookie(session.url);
    const idleCookie = await sessionCookie(idle.url);
    const ceiling = await startServer(pinned(0, tsCommand("bench/ceiling.ts", rt)), { CEILING_TOKEN: cookie.split("=")[1] });
    servers.push(ceiling);
    // The same bare app served by the service's own server code: the part of the gap that is the server's.
    const served = await startServer(pinned(0, tsCommand("bench/ceiling.ts", rt)), {
      CEILING_TOKEN: cookie.split("=")[1],
      CEILING_SERVER: "service",
    });
    servers.push(served);
    // That app with the duties every answer of the service has (access log, hashed token, security and CORS headers):
    // the most the service could reach without dropping one of them.
    const duties = await startServer(pinned(0, tsCommand("bench/ceiling.ts", rt)), {
      CEILING_TOKEN: cookie.split("=")[1],
      CEILING_SERVER: "service",
      CEILING_DUTIES: "1",
    });
    servers.push(duties);
    log(
      `${rt}: servers up (session ${session.startupMs.toFixed(0)} ms, basic ${basic.startupMs.toFixed(0)} ms, ceiling ${
        ceiling.startupMs.toFixed(0)
      } ms)`,
    );

    const targets = {
      session: { server: session, headers: { cookie } },
      check: { server: session, headers: { cookie } },
      ceiling: { server: ceiling, headers: { cookie } },
      served: { server: served, headers: { cookie } },
      duties: { server: duties, headers: { cookie } },
      basic: { server: basic, headers: { authorization: basicHeader() } },
      kv: { server: kv, headers: { cookie: kvCookie } },
      idle: { server: idle, headers: { cookie: idleCookie } },
      postgres: { server: pg ?? session, headers: { cookie: pgCookie } },
    };
    for (const [name, t] of Object.entries(targets)) {
      if (name !== "postgres" || pg) await expectOk(`${t.server.url}/api/v1/users/me`, t.headers, name);
    }
    await expectCheck(session.url, { cookie });
    // PostgreSQL's backends serving the service count as its CPU (they are not pinned: either core).
    let pgBackends: number[] = [];
    const pids = (name: keyof typeof targets) => [...groupPids(targets[name].server.pid), ...(name === "postgres" ? pgBackends : [])];
    const job = (name: keyof typeof targets, seconds: number) => ({
      kind: "cannon" as const,
      label: name,
      url: `${targets[name].server.url}${targetPath(name)}`,
      headers: targets[name].headers,
      connections: CONNECTIONS,
      seconds,
      cpuPids: pids(name),
    });
    // In the order of `targets`, the check right after the session GET it is compared with.
    const order = (Object.keys(targets) as (keyof typeof targets)[]).filter((n) => n !== "postgres" || pg);
    await loadgen(
      order.map((n) => ({ label: `warm-up ${n}`, jobs: [job(n, P.warmSec)] })),
      (label, [r]) => log(`${rt}: GET ${label}: ${fmt(r)}`),
    );
    if (db) pgBackends = await db.backendPids();
    // A repetition is clean when other tenants took <= NOISY cores during each of its three runs. Noisy ones
    // are kept and shown, and extra repetitions (bounded by a time budget for the whole run) try for `reps` clean ones.
    const get = {
      session: [] as JobResult[],
      check: [] as JobResult[],
      ceiling: [] as JobResult[],
      served: [] as JobResult[],
      duties: [] as JobResult[],
      basic: [] as JobResult[],
      kv: [] as JobResult[],
      idle: [] as JobResult[],
      postgres: [] as JobResult[],
      clean: [] as boolean[],
    };
    for (let rep = 0; rep < P.reps || (get.clean.filter(Boolean).length < P.reps && rep < P.reps + EXTRA_REPS); rep++) {
      // The order rotates so that no target always runs first, or right after the same neighbour.
      const steps = order.map((_, k) => order[(k + rep) % order.length]).map((n) => ({
        label: `${n} #${rep + 1}`,
        jobs: [job(n, P.getSec)],
      }));
      let clean = true;
      await loadgen(steps, (label, [r]) => {
        log(`${rt}: GET ${label}: ${fmt(r)}`);
        get[r.label as keyof typeof targets].push(r);
        // PostgreSQL's own processes run beside the server and look like other tenants: its figure is not a sign of noise.
        clean &&= r.label === "postgres" || !noisy(r);
      });
      get.clean.push(clean);
      const more = rep + 1 >= P.reps && rep + 1 < P.reps + EXTRA_REPS && get.clean.filter(Boolean).length < P.reps;
      if (!clean) {
        log(
          `${rt}: repetition #${rep + 1} was noisy (other tenants > ${NOISY} core, or neither server nor load generator busy)${
            more ? ": one more" : ""
          }`,
        );
      }
    }
    res.get = get;
    log(`${rt}: ${checkSummary(get)}`);
    for (const s of [ceiling, served, duties, basic, kv, idle]) await s.stop();

    const login = {
      raw: [] as number[],
      rawOther: [] as number[],
      logins: [] as JobResult[],
      status: [] as JobResult[],
      idleStatus: [] as JobResult[],
      signups: [] as JobResult[],
    };
    // The same /status probe without the storm first: the floor that noise alone gives the storm's p99.
    const probe = (seconds: number) => ({
      kind: "cannon" as const,
      label: "status",
      url: `${session.url}/api/v1/status`,
      connections: 1,
      rate: 50,
      seconds,
      cpuPids: groupPids(session.pid),
    });
    await loadgen([{ label: "status probe, idle", jobs: [probe(P.rawSec)] }], (label, [r]) => {
      login.idleStatus.push(r);
      log(`${rt}: ${label}: ${fmt(r)}`);
    });
    for (let rep = 0; rep < P.loginReps; rep++) {
      const raw = await helper(rt, "bench/pbkdf2.ts", ["8", String(P.rawSec)], P.rawSec * 1000 + 60_000);
      login.raw.push(raw.perSec as number);
      login.rawOther.push(raw.otherCpu as number);
      log(
        `${rt}: raw PBKDF2 #${rep + 1}: ${(raw.perSec as number).toFixed(2)} hashes/s (${raw.hashes} in ${
          (raw.seconds as number).toFixed(1)
        } s, c=8; CPU: own ${(raw.ownCpu as number).toFixed(2)}, others ${(raw.otherCpu as number).toFixed(2)} on its core)`,
      );
      const steps: Step[] = [{
        label: `logins #${rep + 1}`,
        jobs: [
          loginStorm(session.url, session.pid, P.loginSec),
          probe(P.loginSec),
        ],
      }];
      await loadgen(steps, (label, [l, s]) => {
        login.logins.push(l);
        login.status.push(s);
        log(`${rt}: ${label}: ${fmt(l)}; /status meanwhile: ${fmt(s)}`);
      });
      if (pg) {
        // Sign-ups hash a password each, then write one row: bounded by PBKDF2 if the database keeps up.
        const signup = {
          kind: "loop" as const,
          label: "signup",
          url: `${pg.url}/api/v1/users`,
          method: "POST",
          headers: { "content-type": "application/json", cookie: pgCookie },
          body: JSON.stringify({ email: `signup-${rep}-{i}@bench.io`, password: BENCH_USER.password }),
          concurrency: 8,
          count: 100_000,
          seconds: P.loginSec,
          expect: 201,
          cpuPids: pids("postgres"),
        };
        await loadgen([{ label: `sign-ups on PostgreSQL #${rep + 1}`, jobs: [signup] }], (label, [r]) => {
          login.signups.push(r);
          log(`${rt}: ${label}: ${fmt(r)}`);
        });
      }
    }
    res.login = login;
  } finally {
    for (const s of servers) await s.stop();
    removeDir(dir);
    await db?.drop().catch((e) => res.errors.push(`dropping the bench database: ${(e as Error).message}`));
  }
}

/** The floor a start is measured against: a fresh process of the same runtime reading and parsing the same data files. */
async function parseFloor(rt: Runtime, dir: string, res: RuntimeResult): Promise<void> {
  try {
    const o = await helper(rt, "bench/json-parse.ts", [dir], 60_000);
    res.startup.parseMs.push(o.parseMs as number);
    res.startup.fileMiB = (o.bytes as number) / 2 ** 20;
    res.startup.parseRssMiB.push(o.rssMiB as number);
    log(
      `${rt}: reading + JSON.parse of the same files: ${(o.parseMs as number).toFixed(0)} ms (${res.startup.fileMiB.toFixed(1)} MiB; RSS ${
        (o.rssMiB as number).toFixed(0)
      } MiB)`,
    );
  } catch (e) {
    res.errors.push(`JSON.parse floor: ${(e as Error).message}`);
  }
}

/** Creates through HTTP at each size, then through the driver alone; startup and RSS of each file-store server. */
async function filePhase(rt: Runtime, res: RuntimeResult): Promise<void> {
  for (const users of SIZES) {
    const row: CreateRow = { users, http: null, store: null, startupMs: NaN, rssMiB: null };
    res.creates.push(row);
    const dir = tempDir("file");
    let srv: Server | null = null;
    try {
      await writeSeed(dir, users);
      srv = await service(rt, { STORAGE: "file", DATA_DIR: dir, AUTH_TYPE: "" });
      await sleep(P.settleMs);
      row.startupMs = srv.startupMs;
      row.rssMiB = rssMiB(srv.pid);
      if (users === 100_000) {
        res.startup.ms.push(srv.startupMs), res.startup.rssMiB.push(row.rssMiB ?? NaN);
        await parseFloor(rt, dir, res);
      }
      if (users === 1_000) res.startup.ms1k.push(srv.startupMs), res.startup.rssMiB1k.push(row.rssMiB ?? NaN);
      const body = JSON.stringify({ email: `new{i}@bench.io`, password: BENCH_USER.password, first_name: "New", last_name: "User" });
      await loadgen([{
        label: "creates",
        jobs: [{
          kind: "loop",
          label: "create",
          url: `${srv.url}/api/v1/users`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          concurrency: 1,
          count: P.creates,
          seconds: P.createSec,
          expect: 201,
          cpuPids: groupPids(srv.pid),
        }],
      }], (_, [r]) => {
        row.http = r;
        log(`${rt}: HTTP create at ${users} users: ${fmt(r)} (startup ${srv!.startupMs.toFixed(0)} ms, RSS ${row.rssMiB?.toFixed(0)} MiB)`);
      });
    } catch (e) {
      res.errors.push(`creates at ${users} users: ${(e as Error).message}`);
    } finally {
      await srv?.stop();
      removeDir(dir);
    }

    const dir2 = tempDir("store");
    try {
      await writeSeed(dir2, users);
      const o = await helper(rt, "bench/store-create.ts", [dir2, String(P.storeCreates), String(P.storeSec)], P.storeSec * 1000 + 120_000);
      if (typeof o.unavailable === "string") row.store = { unavailable: o.unavailable };
      else {
        const lat = o.latenciesMs as number[];
        row.store = {
          openMs: o.openMs as number,
          closeMs: o.closeMs as number,
          p50Ms: median(lat),
          p99Ms: quantile(lat, 0.99),
          n: lat.length,
        };
      }
      log(
        `${rt}: storage-only create at ${users} users: ${
          JSON.stringify(row.store, (_, v) => (typeof v === "number" ? Math.round(v * 100) / 100 : v))
        }`,
      );
    } catch (e) {
      res.errors.push(`storage-only creates at ${users} users: ${(e as Error).message}`);
    } finally {
      removeDir(dir2);
    }
  }
  // More startup samples at 100k and at 1k (the create runs above gave the first ones), alternating.
  for (let i = 1; i < P.startups; i++) {
    for (const users of [1_000, 100_000]) {
      const dir = tempDir("startup");
      try {
        await writeSeed(dir, users);
        const srv = await service(rt, { STORAGE: "file", DATA_DIR: dir, AUTH_TYPE: "" });
        await sleep(P.settleMs);
        const rss = rssMiB(srv.pid) ?? NaN;
        const big = users === 100_000;
        (big ? res.startup.ms : res.startup.ms1k).push(srv.startupMs);
        (big ? res.startup.rssMiB : res.startup.rssMiB1k).push(rss);
        log(`${rt}: startup at ${big ? "100k" : "1k"} users #${i + 1}: ${srv.startupMs.toFixed(0)} ms, RSS ${rss.toFixed(0)} MiB`);
        await srv.stop();
        if (big) await parseFloor(rt, dir, res);
      } finally {
        removeDir(dir);
      }
    }
  }
}

installCleanup();
const nproc = Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim()) || NaN;
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
log(
  `${quick ? "quick" : "full"} bench of ${runtimes.join(", ")} on ${nproc} cores (${cpu}); ${
    PINNING
      ? "servers pinned to core 0, load generator to core 1"
      : "taskset unavailable: NOT pinned, servers and load generator share the cores"
  }`,
);
if (nproc < 2) log("warning: fewer than 2 cores, the load generator competes with the server");

const results: RuntimeResult[] = [];
for (const rt of runtimes) {
  const res: RuntimeResult = {
    runtime: rt,
    version: runtimeVersion(rt),
    creates: [],
    startup: { ms: [], rssMiB: [], ms1k: [], rssMiB1k: [], parseMs: [], parseRssMiB: [], fileMiB: NaN },
    errors: [],
  };
  results.push(res);
  log(`=== ${res.version} ===`);
  await httpPhase(rt, res).catch((e) => res.errors.push(`HTTP figures: ${(e as Error).message}`));
  await filePhase(rt, res).catch((e) => res.errors.push(`file-store figures: ${(e as Error).message}`));
  for (const e of res.errors) log(`${rt}: NOT MEASURED: ${e.split("\n")[0]}`);
}

// Routers on the app's route table, a few seconds per runtime (bench/router.ts).
const routerRows: string[] = [];
for (const rt of runtimes) {
  const o = await helper(rt, "bench/router.ts", ["--json"], 120_000).catch((e) => ({
    rows: [`| ${rt} | not measured: ${(e as Error).message} | | |`],
  }));
  routerRows.push(...(o.rows as string[]));
  log(`${rt}: routers, CPU ns per match (× ours):\n${(o.rows as string[]).join("\n")}`);
}

// Whether POST password_reset's time tells a known email from an unknown one (bench/reset-timing.ts).
const reset = await helper("node", "bench/reset-timing.ts", ["--json"], 600_000).catch((e) => ({ error: (e as Error).message }));
log(`password_reset, known vs unknown email: ${JSON.stringify(reset)}`);

const params =
  `GET: ${P.reps} × ${P.getSec} s per target after ${P.warmSec} s warm-up, ${CONNECTIONS} connections; logins: ${P.loginReps} × (${P.rawSec} s raw PBKDF2, ${P.loginSec} s logins); creates: up to ${P.creates} over HTTP and ${P.storeCreates} through the driver per size`;
const report = renderReport(results, {
  date: new Date().toISOString(),
  nproc,
  cpu,
  pinning: PINNING,
  mode: quick ? "--quick" : "default",
  params,
}) + `\n## Routers on the app's route table (bench/router.ts)\n\nCPU ns per match (× ApiRouter, ours)\n\n` +
  `| runtime | router | GET /api/v1/users/me | every route |\n| --- | --- | --- | --- |\n${routerRows.join("\n")}\n` +
  `\n## password_reset: known vs unknown email (bench/reset-timing.ts)\n\n\`${JSON.stringify(reset)}\`\n`;
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/latest.md"), report);
writeFileSync(join(ROOT, "bench/results/latest.json"), JSON.stringify({ params: P, results }, null, 1));
console.log("\n" + report);
log(`done; written to bench/results/latest.md (raw figures in latest.json)`);
cleanupAll();
process.exit(results.some((r) => r.errors.length) ? 1 : 0);
