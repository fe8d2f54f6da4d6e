import type { Context } from "hono";

const PREFIX = "/api/v1";

/** True for paths under `/api/v1`, the only ones that carry CORS headers. */
export function underApi(path: string): boolean {
  return path.startsWith(PREFIX) && (path.length === PREFIX.length || path.charCodeAt(PREFIX.length) === 47 /* "/" */);
}

/**
 * A JSON response with this API's headers: the content type, and under
 * `/api/v1` CORS (`Access-Control-Allow-Origin: *`, or the request's Origin
 * echoed with `Vary: Origin`, as Flask-CORS does with `origins: "*"`; with
 * `Access-Control-Allow-Credentials: true` for an origin of CORS_ORIGINS)
 * and the security headers every answer carries: `nosniff`, no referrer,
 * and `Cache-Control: no-store` (answers hold users, sessions and errors
 * about credentials: no proxy or browser cache should keep them).
 *
 * Why not `c.json` plus a CORS middleware: any second header makes Hono
 * build a `Headers` object, and on Node `@hono/node-server` then converts it
 * back header by header for every response (measured at about 8 µs a
 * request, a third of a session-authenticated GET). A plain object goes
 * straight to the socket on Node and is cheaper on Deno and Bun too.
 */
export function json(c: Context, data: unknown, status = 200, extra?: Record<string, string>): Response {
  return build(data === null ? null : JSON.stringify(data), status, apiHeaders(c, extra));
}

/** Makes a Response of a body, a status and plain-object headers. */
export type ResponseBuilder = (body: string | null, status: number, headers: Record<string, string>) => Response;
let build: ResponseBuilder = (body, status, headers) => new Response(body, { status, headers });

/**
 * Lets an entry file build the API's responses the way its runtime does it
 * fastest (src/entry/deno.ts does); the default suits Node and Bun.
 */
export function useResponseBuilder(f: ResponseBuilder): void {
  build = f;
}

/** `json` with several `Set-Cookie` headers (a plain object holds one per name). */
export function jsonWithCookies(c: Context, data: unknown, cookies: string[]): Response {
  const headers: [string, string][] = [...Object.entries(apiHeaders(c)), ...cookies.map((v): [string, string] => ["set-cookie", v])];
  return new Response(JSON.stringify(data), { status: 200, headers });
}

/**
 * Headers of every answer, also those written outside the app (a request
 * the HTTP parser refuses, a failure of the server itself).
 */
export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
} as const;

/** A JSON error written by the server around the app, with the headers every answer has. */
export const SERVER_ERROR_HEADERS = { "content-type": "application/json", ...SECURITY_HEADERS } as const;

/** An answer without a body (204) with the API's headers, and `extra`. */
export function noContent(c: Context, extra?: Record<string, string>): Response {
  const headers = apiHeaders(c, extra);
  delete headers["content-type"];
  return build(null, 204, headers);
}

/** A JSON answer whose text is made already (the OpenAPI document, serialized once per app). */
export function jsonText(c: Context, text: string): Response {
  return build(text, 200, apiHeaders(c));
}

/** The headers `json` sends, for the few responses without a body. */
function apiHeaders(c: Context, extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json", ...SECURITY_HEADERS };
  if (underApi(c.req.path)) {
    const origin = c.req.header("origin");
    headers["access-control-allow-origin"] = origin ?? "*";
    if (origin !== undefined) headers["vary"] = "Origin";
    if (c.get("corsCredentials") === true) headers["access-control-allow-credentials"] = "true";
  }
  if (extra) { for (const k in extra) headers[k.toLowerCase()] = extra[k]; }
  return headers;
}
