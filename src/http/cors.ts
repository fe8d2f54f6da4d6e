import type { MiddlewareHandler } from "hono";
import { underApi } from "./respond.ts";

const ALL_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/**
 * Answers CORS preflights on `/api/v1/*` before authentication (the
 * original rejected them with 401, which breaks browsers). The CORS headers
 * of every other response are added where it is built (`json` in
 * respond.ts). Credentials are not allowed cross-origin.
 */
export function preflight(): MiddlewareHandler {
  return async function corsPreflight(c, next) {
    if (c.req.method !== "OPTIONS" || c.req.header("access-control-request-method") === undefined || !underApi(c.req.path)) {
      return next();
    }
    const headers: Record<string, string> = {
      "Access-Control-Allow-Origin": c.req.header("origin") ?? "*",
      "Access-Control-Allow-Methods": ALL_METHODS,
      "Access-Control-Max-Age": "600",
      Vary: "Origin, Access-Control-Request-Headers",
    };
    const requested = c.req.header("access-control-request-headers");
    if (requested) headers["Access-Control-Allow-Headers"] = requested;
    return new Response(null, { status: 200, headers });
  };
}
