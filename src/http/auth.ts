import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/types.ts";
import type { AuthType } from "../config.ts";
import type { Strategy } from "../auth/strategies.ts";
import { readCookie } from "./cookies.ts";
import type { AppEnv } from "./env.ts";

/** Paths that never require authentication (exact, case-sensitive; one trailing slash allowed). */
export const EXCLUDED_PATHS = new Set([
  "/api/v1/status",
  "/api/v1/unauthorized",
  "/api/v1/forbidden",
  "/api/v1/auth_session/login",
  "/api/v1/auth_session",
]);

export function isExcluded(path: string): boolean {
  return EXCLUDED_PATHS.has(path.endsWith("/") ? path.slice(0, -1) : path);
}

export type AuthOptions = {
  authType: AuthType;
  /** null for `auth` (which finds no user) and for no auth type. */
  strategy: Strategy | null;
  sessionName: string;
  /** Origins allowed, besides the request's own, to send cookie-authenticated unsafe requests. */
  trustedOrigins: string[];
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * True when a browser marks the request as coming from another site. Only
 * browsers send these headers, so curl and scripts are never affected.
 * (Hono's `csrf()` cannot be used: it rejects form posts that carry neither
 * header, which is exactly what curl sends to the login route.)
 */
export function isCrossSite(req: Request, trustedOrigins: string[]): boolean {
  if (req.headers.get("sec-fetch-site")?.toLowerCase() === "cross-site") return true;
  const origin = req.headers.get("origin");
  if (origin === null) return false;
  if (trustedOrigins.includes(origin)) return false;
  try {
    return new URL(origin).host !== (req.headers.get("host") ?? new URL(req.url).host);
  } catch {
    return true; // "null" or garbage: an opaque origin is never ours.
  }
}

/**
 * Runs the original's three authentication steps on a request: 401 when it
 * presents nothing, 403 when the strategy finds no user, else the user.
 * Used by the middleware and by the logout alias, which sits on an
 * excluded path.
 */
export async function authenticate(c: Context<AppEnv>, opts: AuthOptions, unauthorized: () => HttpError): Promise<UserRecord> {
  // Each strategy reads its own credential first and the other header only
  // when that one is missing (it then only decides 401 against 403): one
  // header lookup fewer on every authenticated request.
  const viaCookie = opts.authType.startsWith("session");
  let authorization: string | null = null;
  let sessionToken: string | null = null;
  const cookie = () => readCookie(c.req.header("cookie") ?? null, opts.sessionName) || null;
  if (viaCookie) {
    sessionToken = cookie();
    if (sessionToken === null) authorization = c.req.header("authorization") ?? null;
  } else {
    authorization = c.req.header("authorization") ?? null;
    if (authorization === null) sessionToken = cookie();
  }
  if (authorization === null && sessionToken === null) throw unauthorized();
  if (!opts.strategy) throw new HttpError(403, "Forbidden");
  // Cookie-authenticated state changes from another site are CSRF attempts.
  if (viaCookie && !SAFE_METHODS.has(c.req.method) && isCrossSite(c.req.raw, opts.trustedOrigins)) {
    throw new HttpError(403, "Forbidden");
  }
  const user = await opts.strategy({ authorization, sessionToken });
  if (!user) throw new HttpError(403, "Forbidden");
  return user;
}

/** The authentication middleware: sets `user`, or answers 401/403 before any route runs. */
export function authMiddleware(opts: AuthOptions, unauthorized: () => HttpError): MiddlewareHandler<AppEnv> {
  return async function requireAuth(c, next) {
    const required = opts.authType !== "none" && !isExcluded(c.req.path);
    c.set("user", required ? await authenticate(c, opts, unauthorized) : null);
    await next();
  };
}
