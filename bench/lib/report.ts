import type { JobResult } from "../loadgen.ts";
import type { Runtime } from "./procs.ts";

/** Everything measured on one runtime; a phase that failed is absent and its error is in `errors`. */
export type StoreOnly = { openMs: number; closeMs: number; p50Ms: number; p99Ms: number; n: number } | { unavailable: string };
export type CreateRow = { users: number; http: JobResult | null; store: StoreOnly | null; startupMs: number; rssMiB: number | null };
export type RuntimeResult = {
  runtime: Runtime;
  version: string;
  /** Repetition i of each target; `clean[i]`: nobody else took more than a quarter core meanwhile. */
  get?: {
    session: JobResult[];
    ceiling: JobResult[];
    /** The ceiling's app on the service's own server code (timeouts, connection cap). */
    served?: JobResult[];
    /** That app with the duties every answer of the service has (bench/lib/ceiling-apps.ts). */
    duties?: JobResult[];
    basic: JobResult[];
    kv: JobResult[];
    idle: JobResult[];
    postgres?: JobResult[];
    clean: boolean[];
  };
  login?: { raw: number[]; rawOther: number[]; logins: JobResult[]; status: JobResult[]; idleStatus: JobResult[]; signups?: JobResult[] };
  creates: CreateRow[];
  /** Spawn → listening and RSS with 100k users; `parseMs`: reading + JSON.parse of the same files in a fresh process. */
  startup: { ms: number[]; rssMiB: number[]; parseMs: number[]; parseRssMiB: number[]; fileMiB: number };
  errors: string[];
};
export type Meta = { date: string; nproc: number; cpu: string; pinning: boolean; mode: string; params: string };

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
export const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
};
const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
/** "median [min–max]" over repetitions: the spread is part of the figure on a noisy machine. */
export const spread = (xs: number[], d = 0) =>
  xs.length > 1 ? `${num(median(xs), d)} [${num(Math.min(...xs), d)}–${num(Math.max(...xs), d)}]` : num(xs[0] ?? NaN, d);

/** Paired ratios: repetition i of A over repetition i of B, measured next to each other; only clean repetitions if any. */
export const pairRatios = (a: JobResult[], b: JobResult[], f: (r: JobResult) => number, clean: boolean[] = []) => {
  const useAll = !clean.some(Boolean);
  return a.map((r, i) => (b[i] && (useAll || clean[i]) ? f(r) / f(b[i]) : NaN)).filter(Number.isFinite);
};

const mark = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "PASS" : "MISS");
/** No verdict from noisy repetitions only: a PASS or MISS there would be the neighbours' doing. */
const verdict = (
  ratios: number[],
  goal: number,
  clean: boolean[],
) => (!clean.some(Boolean) ? "NOISY, no verdict" : mark(ratios.length ? median(ratios) >= goal : null));
const cpuPerReq = (r: JobResult) => ((r.serverCpu ?? NaN) * 1e6) / r.rps; // µs of server CPU per request

/**
 * A run is noisy when other tenants took more than NOISY (cores) of the server's or the load generator's core, or when
 * neither the server nor the load generator kept its core busy: something outside (host steal the guest cannot see) throttled it.
 */
export const NOISY = 0.2;
export const noisy = (r: JobResult) => r.otherCpu > NOISY || r.otherGenCpu > NOISY || ((r.serverCpu ?? 1) < 0.85 && r.loadgenCpu < 0.9);

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
  // The ceiling answers faster than one core of autocannon can ask: its req/s is then a floor, the ratio flattering.
  if (rs.some((r) => r.loadgenCpu >= 0.93)) {
    notes.push("load generator saturated (≥0.93 core): the faster side's req/s is a floor, see the CPU cross-check");
  }
  if (rs.some((r) => r.non2xx || r.errors)) notes.push(`${rs.reduce((n, r) => n + r.non2xx + r.errors, 0)} non-2xx/errors`);
  return notes.join("; ");
}

/** How the PostgreSQL figures are taken. */
const PG_NOTE =
  "PostgreSQL runs on this machine, not pinned: its backends serving the service count in the server CPU and may run on either core";

export function renderReport(results: RuntimeResult[], meta: Meta): string {
  const L: string[] = [];
  L.push(`# Benchmark: the service against its ceiling`, "");
  L.push(`- date: ${meta.date}`, `- machine: ${meta.nproc} cores (\`nproc\`), ${meta.cpu}`);
  L.push(
    `- pinning: ${
      meta.pinning ? "servers on core 0, load generator on core 1 (taskset)" : "NONE (taskset unavailable): figures share both cores"
    }`,
  );
  L.push(`- runtimes: ${results.map((r) => r.version).join(", ")}`, `- mode: ${meta.mode}; ${meta.params}`, "");

  L.push(
    `## Goals`,
    "",
    `| runtime | figure | measured: median [min–max] over repetitions | goal | mark | caveats |`,
    `| --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    if (r.get) {
      const { clean } = r.get;
      const s = pairRatios(r.get.session, r.get.ceiling, (x) => x.rps, clean);
      L.push(
        `| ${r.runtime} | session GET /users/me ÷ ceiling, req/s | ${spread(s, 2)} | ≥ 0.80 | ${verdict(s, 0.8, clean)} | ${
          caveats([...r.get.session, ...r.get.ceiling], clean)
        } |`,
      );
      const cr = pairRatios(r.get.ceiling, r.get.session, cpuPerReq, clean);
      L.push(
        `| ${r.runtime} | cross-check: ceiling CPU/request ÷ session CPU/request | ${spread(cr, 2)} | ≥ 0.80 | ${
          verdict(cr, 0.8, clean)
        } | does not depend on the load generator keeping up |`,
      );
      if (r.get.served?.length) {
        const sv = pairRatios(r.get.session, r.get.served, (x) => x.rps, clean);
        const svc = pairRatios(r.get.served, r.get.session, cpuPerReq, clean);
        const srv = pairRatios(r.get.served, r.get.ceiling, (x) => x.rps, clean);
        L.push(
          `| ${r.runtime} | where the gap is: session GET ÷ the ceiling's app on the service's own server, req/s (CPU cross-check) | ${
            spread(sv, 2)
          } (${
            spread(svc, 2)
          }) | — | info | the app's share; the server's share: the ceiling's app on the service's server ÷ on the runtime's plain server, req/s ${
            spread(srv, 2)
          } |`,
        );
      }
      if (r.get.duties?.length) {
        const dc = pairRatios(r.get.duties, r.get.ceiling, (x) => x.rps, clean);
        const sd = pairRatios(r.get.session, r.get.duties, (x) => x.rps, clean);
        const sdc = pairRatios(r.get.duties, r.get.session, cpuPerReq, clean);
        L.push(
          `| ${r.runtime} | the most the contract leaves: the ceiling with every answer's duties (access log, hashed token, security and CORS headers) on the service's server ÷ ceiling, req/s | ${
            spread(dc, 2)
          } | — | info | above the 0.80 goal only if the duties and the hardened server together cost under a fifth |`,
          `| ${r.runtime} | session GET ÷ that, req/s (CPU cross-check) | ${spread(sd, 2)} (${
            spread(sdc, 2)
          }) | — | info | what the service's own code (gate, router, session policy, storage layer) costs above the duties |`,
        );
      }
      const b = pairRatios(r.get.basic, r.get.session, (x) => x.rps, clean);
      L.push(
        `| ${r.runtime} | Basic GET /users/me ÷ session GET, req/s | ${spread(b, 2)} | ≥ 0.50 | ${verdict(b, 0.5, clean)} | ${
          caveats(r.get.basic, clean)
        } |`,
      );
      const k = pairRatios(r.get.kv, r.get.session, (x) => x.rps, clean);
      L.push(
        `| ${r.runtime} | session GET on Deno KV ÷ on memory, req/s | ${spread(k, 2)} | ≥ 0.50 | ${verdict(k, 0.5, clean)} | ${
          caveats(r.get.kv, clean)
        } |`,
      );
      const i = pairRatios(r.get.idle, r.get.session, (x) => x.rps, clean);
      L.push(
        `| ${r.runtime} | session GET with SESSION_IDLE_TIMEOUT ÷ without, req/s | ${spread(i, 2)} | ≥ 0.95 | ${
          verdict(i, 0.95, clean)
        } | ${caveats(r.get.idle, clean)} |`,
      );
      if (r.get.postgres?.length) {
        const p = pairRatios(r.get.postgres, r.get.session, (x) => x.rps, clean);
        L.push(
          `| ${r.runtime} | session GET on PostgreSQL ÷ on memory, req/s | ${spread(p, 2)} | ≥ 0.50 | ${verdict(p, 0.5, clean)} | ${
            [caveats(r.get.postgres, clean), PG_NOTE].join("; ")
          } |`,
        );
      }
    }
    if (r.login) {
      const lr = r.login.logins.map((x, i) => x.rps / (r.login!.raw[i] ?? NaN)).filter(Number.isFinite);
      const rawNoisy = r.login.rawOther.some((o) => o > NOISY) ? "noisy raw PBKDF2 run" : "";
      L.push(
        `| ${r.runtime} | logins/s ÷ raw PBKDF2 hashes/s (c=8) | ${spread(lr, 2)} | ≥ 0.85 | ${
          mark(lr.length ? median(lr) >= 0.85 : null)
        } | ${[caveats(r.login.logins), rawNoisy].filter(Boolean).join("; ")} |`,
      );
      const p99 = r.login.status.map((x) => x.p99Ms);
      const idle = r.login.idleStatus.map((x) => x.p99Ms);
      L.push(
        `| ${r.runtime} | /status p99 during the login storm, ms | ${spread(p99, 1)} | ≤ 10 | ${
          mark(p99.length ? median(p99) <= 10 : null)
        } | ${[caveats(r.login.status), `same probe without the storm: p99 ${spread(idle, 1)} ms`].filter(Boolean).join("; ")} |`,
      );
      if (r.login.signups?.length) {
        const sr = r.login.signups.map((x, i) => x.rps / (r.login!.raw[i] ?? NaN)).filter(Number.isFinite);
        L.push(
          `| ${r.runtime} | sign-ups/s on PostgreSQL ÷ raw PBKDF2 hashes/s (c=8) | ${spread(sr, 2)} | ≥ 0.85 | ${
            mark(sr.length ? median(sr) >= 0.85 : null)
          } | ${[caveats(r.login.signups), rawNoisy].filter(Boolean).join("; ")} |`,
        );
      }
    }
  }

  for (const r of results) {
    const s = r.startup;
    if (!s.ms.length || !s.parseMs.length) continue;
    const ratio = median(s.ms) / median(s.parseMs);
    L.push(
      `| ${r.runtime} | start with 100k users: spawn → listening ÷ read + JSON.parse of the same files | ${num(ratio, 2)} | ≤ 2 | ${
        mark(ratio <= 2)
      } | ${num(median(s.ms))} ms ÷ ${num(median(s.parseMs))} ms |`,
    );
    const mem = median(s.rssMiB) / s.fileMiB;
    L.push(
      `| ${r.runtime} | start with 100k users: RSS ÷ size of the files | ${num(mem, 2)} | ≤ 3 | ${mark(mem <= 3)} | ${
        num(median(s.rssMiB))
      } MiB ÷ ${num(s.fileMiB, 1)} MiB |`,
    );
  }

  L.push("", `## GET /api/v1/users/me (A/B interleaved)`, "");
  L.push(
    `CPU µs/req is server CPU time per answered request: unlike req/s it does not depend on whether the load generator kept the server busy.`,
    "",
  );
  L.push(`Every repetition is shown (clean or not); the ratios in Goals use the clean ones when there are any.`, "");
  L.push(
    `| runtime | target | req/s | p50 ms | p99 ms | server CPU (cores) | CPU µs/req | load-gen CPU | others on server core | others on load-gen core |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    if (!r.get) continue;
    for (
      const [name, rs] of [
        ["service, session_db_auth", r.get.session],
        ["ceiling (bare Hono + Map)", r.get.ceiling],
        ["ceiling's app on the service's server", r.get.served ?? []],
        ["that app with every answer's duties", r.get.duties ?? []],
        [
          "service, basic_auth",
          r.get.basic,
        ],
        ["service, session_db_auth on Deno KV", r.get.kv],
        ["service, session_db_auth, SESSION_IDLE_TIMEOUT=1800", r.get.idle],
        ["service, session_db_auth on PostgreSQL", r.get.postgres ?? []],
      ] as const
    ) {
      if (!rs.length) continue;
      L.push(
        `| ${r.runtime} | ${name} | ${spread(rs.map((x) => x.rps))} | ${spread(rs.map((x) => x.p50Ms), 2)} | ${
          spread(rs.map((x) => x.p99Ms), 2)
        } | ${spread(rs.map((x) => x.serverCpu ?? NaN), 2)} | ${spread(rs.map(cpuPerReq), 1)} | ${
          spread(rs.map((x) => x.loadgenCpu), 2)
        } | ${spread(rs.map((x) => x.otherCpu), 2)} | ${spread(rs.map((x) => x.otherGenCpu), 2)} |`,
      );
    }
  }

  L.push("", `## Logins: POST /api/v1/auth_session/login, 8 concurrent clients`, "");
  L.push(`Raw and login runs alternate; "others" is what other tenants took of the server's core (0) meanwhile.`, "");
  L.push(
    `| runtime | raw PBKDF2 hashes/s (same core, c=8) | logins/s | ratio | login p50 / p99 ms | /status p50 / p99 ms (light probe meanwhile) | other: raw / logins |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    if (!r.login) continue;
    const { raw, logins, status } = r.login;
    const lr = logins.map((x, i) => x.rps / (raw[i] ?? NaN));
    L.push(
      `| ${r.runtime} | ${spread(raw, 2)} | ${spread(logins.map((x) => x.rps), 2)} | ${spread(lr, 2)} | ${
        spread(logins.map((x) => x.p50Ms))
      } / ${spread(logins.map((x) => x.p99Ms))} | ${spread(status.map((x) => x.p50Ms), 2)} / ${spread(status.map((x) => x.p99Ms), 1)} | ${
        spread(r.login.rawOther, 2)
      } / ${spread(logins.map((x) => x.otherCpu), 2)} |`,
    );
  }

  const withSignups = results.filter((r) => r.login?.signups?.length);
  if (withSignups.length) {
    L.push("", `## Sign-ups on PostgreSQL: POST /api/v1/users, 8 concurrent clients`, "");
    L.push(
      `Each sign-up hashes its password (PBKDF2) and inserts one row; compared with raw PBKDF2 of the same repetition. ${PG_NOTE}.`,
      "",
    );
    L.push(
      `| runtime | raw PBKDF2 hashes/s | sign-ups/s | ratio | p50 / p99 ms | server CPU (cores) |`,
      `| --- | --- | --- | --- | --- | --- |`,
    );
    for (const r of withSignups) {
      const { raw, signups } = r.login!;
      L.push(
        `| ${r.runtime} | ${spread(raw, 2)} | ${spread(signups!.map((x) => x.rps), 2)} | ${
          spread(signups!.map((x, i) => x.rps / (raw[i] ?? NaN)), 2)
        } | ${spread(signups!.map((x) => x.p50Ms))} / ${spread(signups!.map((x) => x.p99Ms))} | ${
          spread(signups!.map((x) => x.serverCpu ?? NaN), 2)
        } |`,
      );
    }
  }

  L.push("", `## File store: create latency (STORAGE=file, no auth, one create at a time)`, "");
  L.push(
    `HTTP is POST /api/v1/users end to end (PBKDF2 included); "storage only" drives \`openFileDriver\` directly: createUser with a ready record (journal append + fdatasync). Startup is spawn to the listening line; RSS is VmRSS of the server process 1 s after it.`,
    "",
  );
  L.push(
    `| runtime | existing users | HTTP create p50 / p99 ms (n) | storage only p50 / p99 ms (n) | driver open / close ms | server startup ms | server RSS MiB |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    for (const c of r.creates) {
      const http = c.http ? `${num(c.http.p50Ms, 1)} / ${num(c.http.p99Ms, 1)} (${c.http.count})` : "n/a";
      const st = !c.store
        ? "n/a"
        : "unavailable" in c.store
        ? `not measured: ${c.store.unavailable}`
        : `${num(c.store.p50Ms, 2)} / ${num(c.store.p99Ms, 2)} (${c.store.n})`;
      const oc = c.store && !("unavailable" in c.store) ? `${num(c.store.openMs)} / ${num(c.store.closeMs)}` : "n/a";
      L.push(
        `| ${r.runtime} | ${c.users.toLocaleString("en")} | ${http} | ${st} | ${oc} | ${num(c.startupMs)} | ${num(c.rssMiB ?? NaN)} |`,
      );
    }
  }

  L.push("", `## Startup and memory with 100,000 users (STORAGE=file)`, "");
  L.push(
    `The floor is a fresh process of the same runtime reading and \`JSON.parse\`-ing the same two files (\`.db_User.json\`, \`.db_UserSession.json\`), nothing else.`,
    "",
  );
  L.push(
    `| runtime | spawn → listening ms | read + JSON.parse ms | ratio | RSS MiB | files MiB | RSS ÷ files | RSS of the JSON.parse process MiB | samples |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of results) {
    const s = r.startup;
    if (s.ms.length) {
      L.push(
        `| ${r.runtime} | ${spread(s.ms)} | ${spread(s.parseMs)} | ${num(median(s.ms) / median(s.parseMs), 2)} | ${spread(s.rssMiB)} | ${
          num(s.fileMiB, 1)
        } | ${num(median(s.rssMiB) / s.fileMiB, 2)} | ${spread(s.parseRssMiB)} | ${s.ms.length} |`,
      );
    }
  }

  const errs = results.flatMap((r) => r.errors.map((e) => `- ${r.runtime}: ${e.split("\n")[0]}`));
  if (errs.length) L.push("", `## Not measured`, "", ...errs);
  return L.join("\n") + "\n";
}
