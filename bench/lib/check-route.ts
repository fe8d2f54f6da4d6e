import type { JobResult } from "../loadgen.ts";
import { BENCH_USER } from "./seed.ts";
import { cpuPerReq, median, num, pairRatios, type RuntimeResult, spread } from "./figures.ts";

/**
 * The forward-auth check (`GET /api/v1/auth_session/check`) as one more GET
 * target, on the session server with the same cookie as the session GET:
 * a reverse proxy asks it before every request to the app it protects, so
 * its cost is added to each of them. It does the session GET's work (gate,
 * session lookup, idle renewal) and answers 204 with two headers instead of
 * the user's JSON; the two are measured interleaved and compared pairwise.
 */

export const CHECK_PATH = "/api/v1/auth_session/check";

/** The path a GET target asks: the check for `check`, `/users/me` for every other. */
export const targetPath = (name: string): string => (name === "check" ? CHECK_PATH : "/api/v1/users/me");

/** A sanity check before measuring: the check answers 204 naming the bench user. */
export async function expectCheck(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(`${url}${CHECK_PATH}`, { headers });
  await res.body?.cancel();
  const email = res.headers.get("x-auth-user-email");
  if (res.status !== 204 || email !== BENCH_USER.email) throw new Error(`check: GET ${url}${CHECK_PATH} answered ${res.status} (${email})`);
}

type Get = NonNullable<RuntimeResult["get"]>;

/** check ÷ session GET, paired by repetition: req/s, and session GET's CPU per request ÷ the check's. */
function ratios(g: Get & { check: JobResult[] }) {
  return {
    rps: pairRatios(g.check, g.session, (x) => x.rps, g.clean),
    cpu: pairRatios(g.session, g.check, cpuPerReq, g.clean),
  };
}

/** One progress line: the check's figures beside session GET's. */
export function checkSummary(g: Get): string {
  if (!g.check?.length) return "forward-auth check: not measured";
  const r = ratios({ ...g, check: g.check });
  return `forward-auth check ÷ session GET: ${num(median(r.rps), 2)} (req/s), ${num(median(r.cpu), 2)} (CPU per request, session ÷ check)`;
}

/** The goals table's rows for the check: information, no goal (it should cost what a session GET costs, or less). */
export function checkRows(runtime: string, g: Get): string[] {
  if (!g.check?.length) return [];
  const r = ratios({ ...g, check: g.check });
  return [
    `| ${runtime} | forward-auth GET /auth_session/check ÷ session GET /users/me, req/s (CPU cross-check: session's CPU/request ÷ the check's) | ${
      spread(r.rps, 2)
    } (${spread(r.cpu, 2)}) | — | info | same server and cookie, interleaved |`,
  ];
}
