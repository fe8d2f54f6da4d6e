import type { Context } from "hono";
import type { AppEnv } from "./context.ts";
import { clearedCookie, readCookie } from "./cookies.ts";
import { HttpError } from "./errors.ts";
import { noContent } from "./respond.ts";
import type { Route } from "./routes.ts";
import { cookieOptionsOf, type SessionRoutesOptions } from "./session-routes.ts";

/**
 * A header value for an email: as it is when it is printable ASCII (every
 * address made through the API is), else percent-encoded, because header
 * values are bytes and the original's data files may hold any text.
 */
const headerSafe = (v: string) => (/^[\x21-\x7e]*$/.test(v) ? v : encodeURIComponent(v));

/**
 * `GET /api/v1/auth_session/check`: the question a reverse proxy asks before
 * it lets a request through to another app (nginx `auth_request`, Caddy
 * `forward_auth`, Traefik ForwardAuth). It runs the same authentication as
 * every protected route (the session cookie, or Basic under basic_auth,
 * throttled alike), so a live session is renewed exactly as any request
 * renews it, and it answers only what a proxy understands: 204 with who the
 * user is, or 401. A dead cookie is cleared, so the browser stops sending it.
 */
export function forwardAuthRoutes(o: SessionRoutesOptions): Route[] {
  async function check(c: Context<AppEnv>) {
    let user;
    try {
      user = (await o.authenticate(c)).user;
    } catch (e) {
      // 401 (nothing presented) and 403 (nothing found) are both "not signed in" to a proxy;
      // a throttled Basic check stays 429.
      if (!(e instanceof HttpError) || (e.status !== 401 && e.status !== 403)) throw e;
      const dead = o.sessions !== null && readCookie(c.req.header("cookie") ?? null, o.sessionName);
      const headers: Record<string, string> = { ...o.challenge };
      if (dead) headers["Set-Cookie"] = clearedCookie(o.sessionName, cookieOptionsOf(o, c));
      throw new HttpError(401, "Unauthorized", headers);
    }
    return noContent(c, { "X-Auth-User-Id": user.id, "X-Auth-User-Email": headerSafe(user.email ?? "") });
  }
  return [{
    method: "GET",
    path: "/api/v1/auth_session/check",
    // Public: it authenticates itself, so that every failure is the 401 a proxy expects.
    public: true,
    summary: "Forward auth: whether the request carries a live session (or Basic credentials), for a reverse proxy",
    responses: {
      204: "Signed in: X-Auth-User-Id and X-Auth-User-Email name the user; no body",
      401: "Not signed in: no cookie, an ended session, or wrong credentials (a dead cookie is cleared). " +
        "The proxy then sends the browser to the sign-in page, `/?next=<the URL it asked for>`, which comes back there after the login",
      429: "Too many failed Basic checks (Retry-After)",
    },
    handler: check,
  }];
}
