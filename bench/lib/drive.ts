import { spawnSync } from "node:child_process";
import process from "node:process";
import type { JobResult, LoopJob, Step } from "../loadgen.ts";
import { groupPids, pinned, runJsonLines, type Runtime, startServer, tsCommand } from "./procs.ts";
import { BENCH_USER } from "./seed.ts";

/** How run.ts drives its children: the service, the load generator, the per-runtime helper scripts. */

/**
 * A bench script's `--name value` option from the command line, or `fallback`.
 *
 * @example const pairs = Number(option("pairs", "400"));
 */
export function option(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
}

/** One measurement as a progress line. */
export const fmt = (r: JobResult) =>
  `${r.rps.toFixed(r.rps < 100 ? 2 : 0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms` +
  (r.serverCpu !== undefined
    ? `; CPU: server ${r.serverCpu.toFixed(2)}, loadgen ${r.loadgenCpu.toFixed(2)} cores, others ${
      r.otherCpu.toFixed(2)
    } on the server's core, ${r.otherGenCpu.toFixed(2)} on the load generator's`
    : "") +
  (r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : "");

// Every server gets these, so nothing inherited from the caller's shell changes what is measured.
const BASE_ENV = {
  SESSION_NAME: "_my_session_id",
  SESSION_DURATION: "",
  LOG_LEVEL: "info",
  KV_URL: "",
  KV_PATH: "",
  DATABASE_POOL_SIZE: "",
  COOKIE_SECURE: "",
  TRUSTED_ORIGINS: "",
  PASSWORD_MIN_LENGTH: "",
  MAX_BODY_BYTES: "",
};
// Node runs the service the way `npm start` does (scripts/start.mjs bundles it first), so startup figures are a user's.
const serviceCommand = (
  rt: Runtime,
): [string, string[]] => (rt === "node" ? [process.execPath, ["scripts/start.mjs"]] : tsCommand(`src/entry/${rt}.ts`, rt));
export const service = (rt: Runtime, env: Record<string, string>) => startServer(pinned(0, serviceCommand(rt)), { ...BASE_ENV, ...env });

/** Runs steps in one pinned load-generator process; `onResult` gets each step's results. */
export function loadgen(steps: Step[], onResult: (label: string, r: JobResult[]) => void): Promise<void> {
  const secs = steps.reduce((n, s) => n + Math.max(...s.jobs.map((j) => j.seconds)), 0);
  const [bin, args] = pinned(1, tsCommand("bench/loadgen.ts", "node"));
  return runJsonLines(
    [bin, [...args, JSON.stringify(steps)]],
    {},
    (o) => onResult(o.step as string, o.results as JobResult[]),
    secs * 1500 + 60_000,
  );
}

/** A helper script of the runtime on core 0, returning its one JSON line. */
export async function helper(rt: Runtime, file: string, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const [bin, a] = pinned(0, tsCommand(file, rt));
  let out: Record<string, unknown> = {};
  await runJsonLines([bin, [...a, ...args]], {}, (o) => (out = o), timeoutMs);
  return out;
}

export const FORM = "application/x-www-form-urlencoded";
export const loginBody = new URLSearchParams({ email: BENCH_USER.email, password: BENCH_USER.password }).toString();

/**
 * A login storm: 8 clients logging the bench user in for `seconds`, each
 * from its own address (X-Forwarded-For; the server needs TRUST_PROXY) so
 * that the per-client limit never answers instead; CPU of `serverPid`'s group.
 */
export function loginStorm(serverUrl: string, serverPid: number, seconds: number): LoopJob {
  return {
    kind: "loop",
    label: "login",
    url: `${serverUrl}/api/v1/auth_session/login`,
    method: "POST",
    headers: { "content-type": FORM, "x-forwarded-for": "198.51.100.{w}" },
    body: loginBody,
    concurrency: 8,
    count: 100_000,
    seconds,
    expect: 200,
    cpuPids: groupPids(serverPid),
  };
}

/** Logs the bench user in; returns "name=token" for a Cookie header. */
export async function sessionCookie(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth_session/login`, { method: "POST", headers: { "content-type": FORM }, body: loginBody });
  const cookie = /(_my_session_id=[^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
  if (res.status !== 200 || !cookie) throw new Error(`login answered ${res.status} ${await res.text()}`);
  return cookie;
}

/** A sanity check before measuring: the target answers 200 with the bench user. */
export async function expectOk(url: string, headers: Record<string, string>, what: string): Promise<void> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(BENCH_USER.email)) throw new Error(`${what}: GET ${url} answered ${res.status} ${text}`);
}

export function runtimeVersion(rt: Runtime): string {
  if (rt === "node") return `node ${process.version}`;
  const [bin] = tsCommand("x.ts", rt);
  const out = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim().split("\n")[0];
  return rt === "bun" ? `bun ${out}` : out.replace(/ \(.*$/, "");
}
