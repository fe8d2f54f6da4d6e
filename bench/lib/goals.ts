import type { JobResult } from "../loadgen.ts";
import { checkRows } from "./check-route.ts";
import { cpuPerReq, median, NOISY, noisy, num, pairRatios, PG_NOTE, type RuntimeResult, spread, startFigures } from "./figures.ts";

/*
 * The goals. The contract is the hardened server with the duties every answer
 * has (access log, hashed token, security and CORS headers): the service is
 * judged against an app that does those duties and nothing else, and that app
 * against bare Hono, the reference. A start and its memory are judged net of
 * what the same start costs with 1k users: a runtime's fixed costs are not
 * the service's to remove.
 */

const mark = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "met" : "MISS");
/** The figure as shown (two decimals) is the one judged: "0.90, goal ≥ 0.90, MISS" would read as a contradiction. */
const shown = (x: number) => Math.round(x * 100) / 100;
/** No verdict from noisy repetitions only: a met or MISS there would be the neighbours' doing. */
const verdict = (ratios: number[], goal: number, clean: boolean[]) =>
  !clean.some(Boolean) ? "NOISY, no verdict" : mark(ratios.length ? shown(median(ratios)) >= goal : null);

/** Reasons a figure is less trustworthy, from the CPU figures the load generator collected. */
function caveats(rs: JobResult[], clean?: boolean[]): string {
  const notes: string[] = [];
  const n = clean?.filter(Boolean).length;
  if (clean && n === 0) {
    notes.push(
      `no clean repetition: all ${clean.length} noisy (other tenants >${NOISY} of a core, or server and load generator both idle part of the time), ratio over all`,
    );
  } else if (clean && n! < clean.length) notes.push(`ratio over the ${n} clean of ${clean.length} repetitions`);
  else if (!clean && rs.some(noisy)) notes.push(`noisy: other tenants took >${NOISY} of a core`);
  // Bare Hono answers faster than one core of autocannon can ask: its req/s is then a floor, the ratio flattering.
  if (rs.some((r) => r.loadgenCpu >= 0.93)) {
    notes.push("load generator saturated (≥0.93 core): the faster side's req/s is a floor, see the CPU cross-check");
  }
  if (rs.some((r) => r.non2xx || r.errors)) notes.push(`${rs.reduce((n, r) => n + r.non2xx + r.errors, 0)} non-2xx/errors`);
  return notes.join("; ");
}

function getRows(r: RuntimeResult, g: NonNullable<RuntimeResult["get"]>): string[] {
  const L: string[] = [];
  const { clean } = g;
  const row = (figure: string, xs: number[], goal: number, note: string) =>
    L.push(`| ${r.runtime} | ${figure} | ${spread(xs, 2)} | ≥ ${goal.toFixed(2)} | ${verdict(xs, goal, clean)} | ${note} |`);
  const cross = "does not depend on the load generator keeping up";
  if (g.duties?.length) {
    row(
      "session GET /users/me ÷ the duties app, req/s",
      pairRatios(g.session, g.duties, (x) => x.rps, clean),
      0.9,
      caveats([...g.session, ...g.duties], clean),
    );
    row("cross-check: the duties app's CPU/request ÷ session GET's", pairRatios(g.duties, g.session, cpuPerReq, clean), 0.9, cross);
    row(
      "the duties app (every answer's access log, hashed token, security and CORS headers, on the service's server) ÷ bare Hono, req/s",
      pairRatios(g.duties, g.ceiling, (x) => x.rps, clean),
      0.7,
      caveats([...g.duties, ...g.ceiling], clean),
    );
    row("cross-check: bare Hono's CPU/request ÷ the duties app's", pairRatios(g.ceiling, g.duties, cpuPerReq, clean), 0.7, cross);
  }
  const s = pairRatios(g.session, g.ceiling, (x) => x.rps, clean);
  const sc = pairRatios(g.ceiling, g.session, cpuPerReq, clean);
  L.push(
    `| ${r.runtime} | reference: session GET ÷ bare Hono, req/s (CPU cross-check) | ${spread(s, 2)} (${spread(sc, 2)}) | — | info | |`,
  );
  L.push(...checkRows(r.runtime, g));
  if (g.served?.length) {
    const srv = pairRatios(g.served, g.ceiling, (x) => x.rps, clean);
    L.push(
      `| ${r.runtime} | the server's share: bare Hono's app on the service's server ÷ on the runtime's plain server, req/s | ${
        spread(srv, 2)
      } | — | info | the header, request and idle timeouts and the connection cap |`,
    );
  }
  row("Basic GET /users/me ÷ session GET, req/s", pairRatios(g.basic, g.session, (x) => x.rps, clean), 0.5, caveats(g.basic, clean));
  row(
    "session GET on Deno KV ÷ on the file store (reads from memory), req/s",
    pairRatios(g.kv, g.session, (x) => x.rps, clean),
    0.5,
    caveats(g.kv, clean),
  );
  row(
    "session GET with SESSION_IDLE_TIMEOUT ÷ without, req/s",
    pairRatios(g.idle, g.session, (x) => x.rps, clean),
    0.95,
    caveats(g.idle, clean),
  );
  if (g.postgres?.length) {
    const p = pairRatios(g.postgres, g.session, (x) => x.rps, clean);
    row(
      "session GET on PostgreSQL ÷ on the file store (reads from memory), req/s",
      p,
      0.5,
      [caveats(g.postgres, clean), PG_NOTE].filter(Boolean).join("; "),
    );
  }
  return L;
}

function loginRows(r: RuntimeResult, l: NonNullable<RuntimeResult["login"]>): string[] {
  const L: string[] = [];
  const lr = l.logins.map((x, i) => x.rps / (l.raw[i] ?? NaN)).filter(Number.isFinite);
  const rawNoisy = l.rawOther.some((o) => o > NOISY) ? "noisy raw PBKDF2 run" : "";
  L.push(
    `| ${r.runtime} | logins/s ÷ raw PBKDF2 hashes/s (c=8) | ${spread(lr, 2)} | ≥ 0.85 | ${
      mark(lr.length ? shown(median(lr)) >= 0.85 : null)
    } | ${[caveats(l.logins), rawNoisy].filter(Boolean).join("; ")} |`,
  );
  const p99 = l.status.map((x) => x.p99Ms);
  const idle = l.idleStatus.map((x) => x.p99Ms);
  L.push(
    `| ${r.runtime} | /status p99 during the login storm, ms | ${spread(p99, 1)} | ≤ 10 | ${
      mark(p99.length ? median(p99) <= 10 : null)
    } | ${[caveats(l.status), `same probe without the storm: p99 ${spread(idle, 1)} ms`].filter(Boolean).join("; ")} |`,
  );
  if (l.signups?.length) {
    const sr = l.signups.map((x, i) => x.rps / (l.raw[i] ?? NaN)).filter(Number.isFinite);
    L.push(
      `| ${r.runtime} | sign-ups/s on PostgreSQL ÷ raw PBKDF2 hashes/s (c=8) | ${spread(sr, 2)} | ≥ 0.85 | ${
        mark(sr.length ? shown(median(sr)) >= 0.85 : null)
      } | ${[caveats(l.signups), rawNoisy].filter(Boolean).join("; ")} |`,
    );
  }
  return L;
}

function startRows(r: RuntimeResult): string[] {
  const s = r.startup;
  if (!s.ms.length || !s.ms1k.length || !s.parseMs.length) return [];
  const f = startFigures(s);
  return [
    `| ${r.runtime} | start: (spawn → listening with 100k users − with 1k users) ÷ read + JSON.parse of the 100k files | ${
      num(f.start, 2)
    } | ≤ 1.50 | ${mark(Number.isFinite(f.start) ? shown(f.start) <= 1.5 : null)} | (${num(f.ms)} − ${num(f.ms1k)} ms) ÷ ${
      num(f.parse)
    } ms |`,
    `| ${r.runtime} | memory: (RSS with 100k users − with 1k users) ÷ size of the 100k files | ${num(f.memory, 2)} | ≤ 2.50 | ${
      mark(Number.isFinite(f.memory) ? shown(f.memory) <= 2.5 : null)
    } | (${num(f.rss)} − ${num(f.rss1k)} MiB) ÷ ${num(s.fileMiB, 1)} MiB |`,
  ];
}

/** The goals table: per runtime, each goal's figure (median [min–max] over repetitions), the goal, met or MISS. */
export function renderGoals(results: RuntimeResult[]): string[] {
  const L = [
    `## Goals`,
    "",
    `| runtime | figure | measured: median [min–max] over repetitions | goal | mark | caveats |`,
    `| --- | --- | --- | --- | --- | --- |`,
  ];
  for (const r of results) {
    if (r.get) L.push(...getRows(r, r.get));
    if (r.login) L.push(...loginRows(r, r.login));
    L.push(...startRows(r));
  }
  return L;
}
