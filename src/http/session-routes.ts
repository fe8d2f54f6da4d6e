import { Hono, type Context } from "hono";
import { HttpError } from "../domain/errors.ts";
import { toUserJson } from "../domain/types.ts";
import type { UsersRepo } from "../repos/users.ts";
import type { SessionManager } from "../auth/sessions.ts";
import { checkPassword } from "../auth/strategies.ts";
import { readFormFields } from "./body.ts";
import { clearedCookie, readCookie, sessionCookie } from "./cookies.ts";
import type { AppEnv } from "./env.ts";
import { json } from "./respond.ts";
import type { UserRecord } from "../domain/types.ts";
import type { LoginThrottle } from "../auth/throttle.ts";

export type SessionRoutesOptions = {
  users: UsersRepo;
  /** null when the auth type has no sessions (none, `auth`, `basic_auth`). */
  sessions: SessionManager | null;
  authTypeName: string;
  sessionName: string;
  maxBodyBytes: number;
  isHttps: (req: Request) => boolean;
  /** Authenticates a request on a path the middleware skips (the logout alias). */
  authenticate: (c: Context<AppEnv>) => Promise<UserRecord>;
  throttle: LoginThrottle;
  /** Who is asking, for throttling: the peer address (or the proxy's X-Forwarded-For when trusted). */
  clientOf: (c: Context<AppEnv>) => string;
  iterations?: number;
};

/** Login and logout, mounted under `/api/v1`, with the seed README's aliases. */
export function sessionRoutes(o: SessionRoutesOptions) {
  const app = new Hono<AppEnv>({ strict: false });
  const noSessions = () =>
    new HttpError(400, `Sessions are not enabled: AUTH_TYPE is ${o.authTypeName}; use session_auth, session_exp_auth or session_db_auth`);

  async function login(c: Context<AppEnv>) {
    // Form fields only: JSON bodies and the query string are ignored, as in the original.
    const form = await readFormFields(c.req.raw, o.maxBodyBytes);
    const email = form.get("email");
    if (!email) throw new HttpError(400, "email missing");
    const password = form.get("password");
    if (!password) throw new HttpError(400, "password missing");
    const client = o.clientOf(c);
    const wait = o.throttle.retryAfter(client, email);
    if (wait > 0) {
      throw new HttpError(429, `Too many failed logins; retry in ${wait} seconds`, { "Retry-After": String(wait) });
    }
    // One answer for an unknown email and a wrong password, in the same time:
    // the original's 404/401 split told anyone which emails have accounts.
    const user = await checkPassword(o.users, email, password, o.iterations);
    if (!user) {
      o.throttle.failure(client, email);
      throw new HttpError(401, "invalid email or password");
    }
    o.throttle.success(client, email);
    if (!o.sessions) throw noSessions();
    // Always a new session (no fixation): a cookie the client already has is never reused.
    const token = await o.sessions.create(user.id);
    return json(c, toUserJson(user), 200, { "Set-Cookie": sessionCookie(o.sessionName, token, { secure: o.isHttps(c.req.raw) }) });
  }

  async function logout(c: Context<AppEnv>) {
    if (!o.sessions) throw noSessions();
    // The alias sits on an excluded path: run the same 401/403 steps here.
    if (!c.get("user")) c.set("user", await o.authenticate(c));
    const token = readCookie(c.req.header("cookie") ?? null, o.sessionName);
    if (!token || !(await o.sessions.destroy(token))) throw new HttpError(403, "Forbidden");
    return json(c, {}, 200, { "Set-Cookie": clearedCookie(o.sessionName, { secure: o.isHttps(c.req.raw) }) });
  }

  app.post("/auth_session/login", login);
  app.post("/auth_session", login);
  app.delete("/auth_session/logout", logout);
  app.delete("/auth_session", logout);
  return app;
}
