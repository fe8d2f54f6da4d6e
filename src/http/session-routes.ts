import { Hono, type Context } from "hono";
import { HttpError, UserGoneError } from "../domain/errors.ts";
import { toUserJson } from "../domain/types.ts";
import type { UsersRepo } from "../repos/users.ts";
import type { SessionManager } from "../auth/sessions.ts";
import { checkPassword } from "../auth/strategies.ts";
import { readLoginFields } from "./body.ts";
import { clearedCookie, readCookie, sessionCookie } from "./cookies.ts";
import type { AppEnv } from "./env.ts";
import { json } from "./respond.ts";
import type { UserRecord } from "../domain/types.ts";
import type { LoginThrottle } from "../auth/throttle.ts";
import { tooManyAttempts } from "./respond.ts";

export type SessionRoutesOptions = {
  users: UsersRepo;
  /** null when the auth type has no sessions (none, `auth`, `basic_auth`). */
  sessions: SessionManager | null;
  authTypeName: string;
  /** Headers of a 401 (`WWW-Authenticate` under basic_auth). */
  challenge: Record<string, string>;
  sessionName: string;
  maxBodyBytes: number;
  isHttps: (req: Request) => boolean;
  /** Whether a browser says the request comes from another site (see auth.ts). */
  isCrossSite: (req: Request) => boolean;
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
    // Login CSRF: a hostile page must not log a visitor into the attacker's
    // account (then read what the victim types into it). curl and scripts
    // send neither Origin nor Sec-Fetch-Site and are not affected.
    if (o.isCrossSite(c.req.raw)) throw new HttpError(403, "Forbidden");
    // Form fields or a JSON object; the query string is ignored, as in the original.
    const form = await readLoginFields(c.req.raw, o.maxBodyBytes);
    const email = form.get("email");
    if (!email) throw new HttpError(400, "email missing");
    const password = form.get("password");
    if (!password) throw new HttpError(400, "password missing");
    const attempt = await o.throttle.attempt(o.clientOf(c), email);
    if (!attempt.ok) throw tooManyAttempts(attempt.retryAfter);
    let user: UserRecord | null;
    try {
      // One answer for an unknown email and a wrong password, in the same time:
      // the original's 404/401 split told anyone which emails have accounts.
      user = await checkPassword(o.users, email, password, o.iterations);
      if (user) await attempt.succeeded();
    } finally {
      attempt.done();
    }
    if (!user) throw new HttpError(401, "invalid email or password", o.challenge);
    if (!o.sessions) throw noSessions();
    // Always a new session (no fixation): a cookie the client already has is never reused.
    let token: string;
    try {
      token = await o.sessions.create(user.id);
    } catch (e) {
      // Deleted between the password check and now: as if it never existed.
      if (e instanceof UserGoneError) throw new HttpError(401, "invalid email or password", o.challenge);
      throw e;
    }
    return json(c, toUserJson(user), 200, { "Set-Cookie": sessionCookie(o.sessionName, token, { secure: o.isHttps(c.req.raw) }) });
  }

  async function logout(c: Context<AppEnv>) {
    // The alias sits on a public path: run the same 401/403 steps here first,
    // so that it answers exactly as /auth_session/logout does.
    if (!c.get("user") && o.authTypeName !== "unset") c.set("user", await o.authenticate(c));
    if (!o.sessions) throw noSessions();
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
