import type { MiddlewareHandler } from "hono";

const PREFIX = "/api/v1";
const ALL_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

function underApi(path: string): boolean {
  return path === PREFIX || path.startsWith(PREFIX + "/");
}

/**
 * CORS on `/api/v1/*`, as Flask-CORS configured with `origins: "*"` does:
 * `Access-Control-Allow-Origin: *`, or the request's Origin echoed with
 * `Vary: Origin`, on every response including errors. A preflight is
 * answered here, before authentication (the original rejected it with 401,
 * which breaks browsers). Credentials are not allowed cross-origin.
 */
export function cors(): MiddlewareHandler {
  return async function corsHeaders(c, next) {
    if (!underApi(c.req.path)) return next();
    const origin = c.req.header("origin");
    const preflight = c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    if (preflight) {
      const headers = new Headers({
        "Access-Control-Allow-Methods": ALL_METHODS,
        "Access-Control-Max-Age": "600",
      });
      const requested = c.req.header("access-control-request-headers");
      if (requested) headers.set("Access-Control-Allow-Headers", requested);
      headers.set("Vary", "Origin, Access-Control-Request-Headers");
      headers.set("Access-Control-Allow-Origin", origin ?? "*");
      return new Response(null, { status: 200, headers });
    }
    // Set before the route runs: Hono adds headers set on the context to every
    // response made through it (c.json, onError, notFound), which is cheaper
    // than copying them onto the finished response.
    c.header("Access-Control-Allow-Origin", origin ?? "*");
    if (origin !== undefined) c.header("Vary", "Origin", { append: true });
    await next();
  };
}
