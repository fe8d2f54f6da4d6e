import type { MiddlewareHandler } from "hono";
import { getPath } from "hono/utils/url";
import { authenticate, type AuthOptions } from "./auth.ts";
import { preflightResponse } from "./cors.ts";
import type { AppEnv } from "./context.ts";
import { badTargetMessage, isBadTarget } from "./request-target.ts";
import { json, underApi } from "./respond.ts";
import type { HttpError } from "./errors.ts";
import { createPathMatcher, type Route } from "./routes.ts";

/**
 * What every request goes through before its route, in one middleware (one
 * step of Hono's chain instead of four, on the hot path):
 *  1. a malformed Host or request target: 400 (see request-target.ts);
 *  2. a CORS preflight under /api/v1: answered, before authentication
 *     (credentials allowed to the origins of CORS_ORIGINS);
 *  3. authentication when the auth type asks for it, on every path that
 *     is not public, unknown ones included (401/403 as the original);
 *  4. a method the path does not have: 405 with `Allow`; a plain OPTIONS:
 *     204 with `Allow`.
 * Paths are taken as requested (`getPath`), not as Hono's non-strict
 * routing trims them, so `/status//` is not `/status`.
 */
export function gate(
  routes: readonly Route[],
  auth: AuthOptions,
  unauthorized: () => HttpError,
  corsOrigins: readonly string[] = [],
): MiddlewareHandler<AppEnv> {
  const route = createPathMatcher(routes);
  const authRequired = auth.auth.strategy !== "none";
  const credentialed = new Set(corsOrigins);
  return async function gateRequest(c, next) {
    if (credentialed.size) c.set("corsCredentials", credentialed.has(c.req.raw.headers.get("origin") ?? ""));
    if (isBadTarget(c.req.raw)) return json(c, { error: badTargetMessage(c.req.raw) }, 400);
    const path = getPath(c.req.raw);
    const found = route(path);
    const method = c.req.method;
    if (method === "OPTIONS" && underApi(path) && c.req.raw.headers.has("access-control-request-method")) {
      return preflightResponse(c, found ? found.allow : null, c.get("corsCredentials") === true);
    }
    const open = found !== null && (found.public || found.publicMethods.has(method));
    const who = authRequired && !open ? await authenticate(c, auth, unauthorized) : null;
    c.set("user", who?.user ?? null);
    c.set("session", who?.session ?? null);
    if (found && !found.allowed.has(method)) return json(c, { error: "Method not allowed" }, 405, { Allow: found.allow });
    if (found && method === "OPTIONS") return json(c, null, 204, { Allow: found.allow });
    await next();
  };
}
