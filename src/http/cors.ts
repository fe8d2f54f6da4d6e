import type { Context } from "hono";
import { json, SECURITY_HEADERS } from "./respond.ts";

/**
 * The answer to a CORS preflight on `/api/v1/*`, given before
 * authentication (the original rejected preflights with 401, which breaks
 * browsers). It allows the methods the path really has (`allow`, from the
 * route table); a path the API does not have gets a 404. The CORS headers
 * of every other response are added where it is built (`json` in
 * respond.ts). Credentials are allowed only to the origins of CORS_ORIGINS
 * (`credentials`).
 */
export function preflightResponse(c: Context, allow: string | null, credentials: boolean): Response {
  if (allow === null) return json(c, { error: "Not found" }, 404);
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "Access-Control-Allow-Origin": c.req.header("origin") ?? "*",
    "Access-Control-Allow-Methods": allow,
    "Access-Control-Max-Age": "600",
    Vary: "Origin, Access-Control-Request-Headers",
  };
  const requested = c.req.header("access-control-request-headers");
  if (requested) headers["Access-Control-Allow-Headers"] = requested;
  else if (credentials) headers["Access-Control-Allow-Headers"] = "Content-Type";
  if (credentials) headers["Access-Control-Allow-Credentials"] = "true";
  return new Response(null, { status: 200, headers });
}
