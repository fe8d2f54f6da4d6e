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
    /** The forward-auth check on the session server, same cookie (bench/lib/check-route.ts). */
    check?: JobResult[];
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
  /**
   * Spawn → listening and RSS with 100k users, and with 1k users (`ms1k`, `rssMiB1k`: what a start costs whatever the
   * data); `parseMs`: reading + JSON.parse of the 100k files in a fresh process.
   */
  startup: {
    ms: number[];
    rssMiB: number[];
    ms1k: number[];
    rssMiB1k: number[];
    parseMs: number[];
    parseRssMiB: number[];
    fileMiB: number;
  };
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
export const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
/** "median [min–max]" over repetitions: the spread is part of the figure on a noisy machine. */
export const spread = (xs: number[], d = 0) =>
  xs.length > 1 ? `${num(median(xs), d)} [${num(Math.min(...xs), d)}–${num(Math.max(...xs), d)}]` : num(xs[0] ?? NaN, d);

/** Paired ratios: repetition i of A over repetition i of B, measured next to each other; only clean repetitions if any. */
export const pairRatios = (a: JobResult[], b: JobResult[], f: (r: JobResult) => number, clean: boolean[] = []) => {
  const useAll = !clean.some(Boolean);
  return a.map((r, i) => (b[i] && (useAll || clean[i]) ? f(r) / f(b[i]) : NaN)).filter(Number.isFinite);
};

/** µs of server CPU per answered request. */
export const cpuPerReq = (r: JobResult) => ((r.serverCpu ?? NaN) * 1e6) / r.rps;

/**
 * A run is noisy when other tenants took more than NOISY (cores) of the server's or the load generator's core, or when
 * neither the server nor the load generator kept its core busy: something outside (host steal the guest cannot see) throttled it.
 */
export const NOISY = 0.2;
export const noisy = (r: JobResult) => r.otherCpu > NOISY || r.otherGenCpu > NOISY || ((r.serverCpu ?? 1) < 0.85 && r.loadgenCpu < 0.9);

/** How the PostgreSQL figures are taken. */
export const PG_NOTE =
  "PostgreSQL runs on this machine, not pinned: its backends serving the service count in the server CPU and may run on either core";

/** The start and memory figures with 100k users, net of what the same start costs with 1k users. */
export function startFigures(s: RuntimeResult["startup"]) {
  const ms = median(s.ms), ms1k = median(s.ms1k), parse = median(s.parseMs);
  const rss = median(s.rssMiB), rss1k = median(s.rssMiB1k);
  return { ms, ms1k, parse, rss, rss1k, start: (ms - ms1k) / parse, memory: (rss - rss1k) / s.fileMiB };
}
