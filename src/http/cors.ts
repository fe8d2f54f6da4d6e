import type { Context } from "hono";
import { json } from "./respond.ts";

/**
 * The answer to a CORS preflight on `/api/v1/*`, given before
 * authentication (the original rejected preflights with 401, which breaks
 * browsers). It allows the methods the path really has (`allow`, from the
 * route table); a path the API does not have gets a 404. The CORS headers
 * of every other response are added where it is built (`json` in
 * respond.ts). Credentials are not allowed cross-origin.
 */
export function preflightResponse(c: Context, allow: string | null): Response {
  if (allow === null) return json(c, { error: "Not found" }, 404);
  const headers: Record<string, string> = {
    "Access-Control-Allow-Origin": c.req.header("origin") ?? "*",
    "Access-Control-Allow-Methods": allow,
    "Access-Control-Max-Age": "600",
    Vary: "Origin, Access-Control-Request-Headers",
  };
  const requested = c.req.header("access-control-request-headers");
  if (requested) headers["Access-Control-Allow-Headers"] = requested;
  return new Response(null, { status: 200, headers });
}
