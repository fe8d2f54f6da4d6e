import type { Context } from "hono";
import type { Authenticated, Strategy } from "../auth/strategies.ts";
import type { AuthMode } from "../domain/auth-mode.ts";
import type { AppEnv } from "./context.ts";
import { readCookie } from "./cookies.ts";
import { ThrottledError } from "../auth/throttle.ts";
import { SecondFactorRequiredError } from "../auth/second-factor.ts";
import type { Audit } from "./audit.ts";
import { HttpError } from "./errors.ts";
import { normalOrigin } from "./origin.ts";

export type AuthOptions = {
  auth: AuthMode;
  /** null for `auth` (which finds no user) and for no auth type. */
  strategy: Strategy | null;
  sessionName: string;
  /** Who sends a request (peer address, or the trusted proxy's X-Forwarded-For), for throttling. */
  clientOf: (c: Context<AppEnv>) => string;
  /** Why a cookie-authenticated unsafe request counts as cross-site (null: it does not); logged, then 403. */
  crossSite: (req: Request) => string | null;
  /** Records failed and throttled Basic checks. */
  audit?: Audit;
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why a browser's request counts as coming from another site, or null when
 * it does not. Only browsers send these headers, so curl and scripts are
 * never affected. (Hono's `csrf()` cannot be used: it rejects form posts
 * that carry neither header, which is exactly what curl sends to the login
 * route.)
 *
 * - `Sec-Fetch-Site: cross-site`, in any of several copies of the header
 *   (a proxy or a client may send two; the runtime joins them with ", "),
 *   unless the `Origin` is listed in `trustedOrigins`.
 * - An `Origin` other than `ownOrigin` (the public origin: see origin.ts),
 *   scheme included (`http://` pages of the same host are another origin
 *   than `https://`), unless listed in `trustedOrigins`; `null` or garbage
 *   is never ours.
 *
 * The reason is logged, so that an operator behind a misconfigured proxy
 * sees why logins fail; it holds only the two origins, never a cookie.
 */
export function crossSiteReason(req: Request, trustedOrigins: readonly string[], ownOrigin: string): string | null {
  const origin = req.headers.get("origin");
  // A page of a trusted origin (TRUSTED_ORIGINS, CORS_ORIGINS) is welcome,
  // and its browser marks its requests cross-site when it is another site.
  // Only a browser sets Origin, and it never lets a page choose it.
  if (origin !== null && trustedOrigins.includes(origin)) return null;
  const fetchSite = req.headers.get("sec-fetch-site");
  if (fetchSite !== null && fetchSite.toLowerCase().split(",").some((v) => v.trim() === "cross-site")) return "Sec-Fetch-Site: cross-site";
  if (origin === null) return null;
  const m = /^(https?):\/\/([^/]+)$/i.exec(origin);
  const shown = JSON.stringify(origin.slice(0, 200));
  if (!m) return `origin ${shown} is not an origin of this service (${ownOrigin})`;
  return normalOrigin(m[1], m[2]) === ownOrigin ? null : `origin ${shown} does not match ${ownOrigin}`;
}

/**
 * Runs the original's three authentication steps on a request: 401 when it
 * presents nothing, 403 when the strategy finds no user, else the user.
 * Used by the gate and by the logout alias, which sits on a public path.
 */
export async function authenticate(c: Context<AppEnv>, opts: AuthOptions, unauthorized: () => HttpError): Promise<Authenticated> {
  // Each strategy reads its own credential first and the other header only
  // when that one is missing (it then only decides 401 against 403): one
  // header lookup fewer on every authenticated request.
  const viaCookie = opts.auth.strategy === "session";
  let authorization: string | null = null;
  let sessionToken: string | null = null;
  const cookie = () => readCookie(c.req.header("cookie") ?? null, opts.sessionName) || null;
  // An empty Authorization header presents nothing: 401, like no header.
  const header = () => c.req.header("authorization")?.trim() || null;
  if (viaCookie) {
    sessionToken = cookie();
    if (sessionToken === null) authorization = header();
  } else {
    authorization = header();
    if (authorization === null) sessionToken = cookie();
  }
  if (authorization === null && sessionToken === null) throw unauthorized();
  if (!opts.strategy) throw new HttpError(403, "Forbidden");
  // Cookie-authenticated state changes from another site are CSRF attempts.
  if (viaCookie && !SAFE_METHODS.has(c.req.method)) {
    const why = opts.crossSite(c.req.raw);
    if (why !== null) {
      opts.audit?.(c, "cross_site_refused", { reason: why });
      throw new HttpError(403, "Forbidden");
    }
  }
  // A throttled Basic check throws ThrottledError: 429, in the app's onError.
  let found: Authenticated | null;
  try {
    found = await opts.strategy({ authorization, sessionToken, client: () => opts.clientOf(c) });
  } catch (e) {
    if (e instanceof ThrottledError) opts.audit?.(c, "throttled", { reason: `Basic, retry in ${e.retryAfter} s` });
    // Basic carries no code: a user with a second factor logs in for a session instead.
    if (e instanceof SecondFactorRequiredError) {
      opts.audit?.(c, "second_factor_failed", { user_id: e.userId, reason: "Basic auth refused: the user has a second factor" });
      throw new HttpError(401, e.message, unauthorized().headers);
    }
    throw e;
  }
  if (!found) {
    if (opts.auth.strategy === "basic" && authorization !== null) opts.audit?.(c, "login_failed", { reason: "Basic credentials" });
    throw new HttpError(403, "Forbidden");
  }
  return found;
}
