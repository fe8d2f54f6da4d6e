/**
 * The apps the service is measured against, shared by bench/ceiling.ts (over
 * HTTP) and bench/app-overhead.ts (in-process).
 */
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { accessLog } from "../../src/http/audit.ts";
import { json } from "../../src/http/respond.ts";
import type { Logger } from "../../src/lib/log.ts";
import { sha256Hex } from "../../src/lib/sha256.ts";

/** The same JSON shape (and about the same size) as the service's user. */
export const CEILING_USER = {
  created_at: "2024-03-01T10:00:00",
  email: "bench@hbtn.io",
  first_name: "Bench",
  id: "5c8d5c0c-1b5a-4b7e-9a45-1f1a0f6c8a11",
  last_name: "Mark",
  updated_at: "2024-03-01T10:00:00",
};

/** The ceiling: a bare Hono app that reads the session cookie, finds the user in a `Map` and returns its JSON. */
export function ceilingApp(token: string, cookieName: string): Hono {
  const sessions = new Map([[token, CEILING_USER]]);
  const app = new Hono();
  app.get("/api/v1/users/me", (c) => {
    const u = sessions.get(getCookie(c, cookieName) ?? "");
    return u ? c.json(u) : c.json({ error: "Forbidden" }, 403);
  });
  app.get("/api/v1/status", (c) => c.json({ status: "OK" }));
  return app;
}

/**
 * The ceiling plus what the contract and the secure defaults ask of every
 * answer, done with the service's own code for each: the access-log line
 * (SPEC: one per request at info, with the client address), the token
 * hashed before the lookup (tokens are stored hashed), and the security and
 * CORS headers. No gate, no router of the service, no session policy,
 * no storage layer: the service cannot be cheaper than this without
 * dropping one of those duties.
 */
export function dutiesApp(token: string, cookieName: string, log: Logger, clientOf: (c: Context) => string): Hono {
  const sessions = new Map([[sha256Hex(token), CEILING_USER]]);
  const app = new Hono();
  app.use("*", accessLog(log, clientOf));
  app.get("/api/v1/users/me", (c) => {
    const u = sessions.get(sha256Hex(getCookie(c, cookieName) ?? ""));
    return u ? json(c, u) : json(c, { error: "Forbidden" }, 403);
  });
  app.get("/api/v1/status", (c) => json(c, { status: "OK" }));
  return app;
}
