import type { Context } from "hono";
import type { SessionManager } from "../auth/sessions.ts";
import { KNOWN_DEVICE_MAX_AGE_SECONDS, knownDevice, rememberDevice } from "../auth/known-device.ts";
import { type Authenticated, throttled } from "../auth/strategies.ts";
import { ThrottledError } from "../auth/throttle.ts";
import { hashToken } from "../auth/tokens.ts";
import type { Audit } from "./audit.ts";
import type { LoginThrottle } from "../auth/throttle.ts";
import type { AuthMode } from "../domain/auth-mode.ts";
import { UserGoneError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/records.ts";
import type { UserView } from "./user-json.ts";
import type { UsersRepo } from "../repos/users.ts";
import { readLoginFields } from "./body.ts";
import type { SecondFactors } from "../auth/second-factor.ts";
import type { AccountRecord } from "../domain/accounts.ts";
import { loginFactor } from "./second-factor-login.ts";
import type { AppEnv } from "./context.ts";
import { clearedCookie, type CookieOptions, deviceCookieHeader, readCookie, sessionCookie } from "./cookies.ts";
import { HttpError } from "./errors.ts";
import type { Route } from "./routes.ts";
import { json, jsonWithCookies } from "./respond.ts";
import { AuthTypeAnswer, EmptyAnswer, LoginBody, UserAnswer } from "./schemas.ts";

/** What the login, logout and session-management routes need. */
export type SessionRoutesOptions = {
  users: UsersRepo;
  /** null when the auth type has no sessions (none, `auth`, `basic_auth`). */
  sessions: SessionManager | null;
  auth: AuthMode;
  /** Headers of a 401 (`WWW-Authenticate` under basic_auth). */
  challenge: Record<string, string>;
  sessionName: string;
  maxBodyBytes: number;
  isHttps: (req: Request) => boolean;
  /** COOKIE_DOMAIN (see cookies.ts), or null. */
  cookieDomain: string | null;
  /** Why a browser's request counts as coming from another site, or null (see auth.ts). */
  crossSite: (req: Request) => string | null;
  /** Authenticates a request on a path the gate lets through (the logout alias). */
  authenticate: (c: Context<AppEnv>) => Promise<Authenticated>;
  throttle: LoginThrottle;
  /** Who is asking, for throttling (see clientOf in create-app.ts). */
  clientOf: (c: Context<AppEnv>) => string;
  now: () => number;
  /** Records authentication events (see audit.ts). */
  audit: Audit;
  /** The second factors (TOTP, recovery codes) a login checks after the password. */
  factors: SecondFactors;
  /** The user JSON of the login's answer (see user-json.ts). */
  view: UserView;
  /** EMAIL_VERIFICATION: under "required" an unverified account cannot log in. */
  emailVerification: "off" | "optional" | "required";
};

/** The known-device cookie's name (see src/auth/known-device.ts). */
export const deviceCookieName = (sessionName: string) => `${sessionName}_device`;

/**
 * Who is asking, for the throttle: a browser that proves an earlier login to
 * this account (its known-device cookie) is named by that proof and passes
 * the account-wide limit; anyone else by address.
 */
export async function whoIsAsking(
  o: SessionRoutesOptions,
  c: Context<AppEnv>,
  account: () => Promise<UserRecord | null>,
): Promise<{ client: string; trusted: boolean }> {
  const cookie = readCookie(c.req.header("cookie") ?? null, deviceCookieName(o.sessionName));
  const user = cookie ? await account() : null;
  const device = cookie && user ? knownDevice(cookie, user, o.now()) : null;
  return device ? { client: `device:${device}`, trusted: true } : { client: o.clientOf(c), trusted: false };
}

/** Runs a throttled password check, recording a refusal by the throttle. */
export async function auditedCheck(
  o: SessionRoutesOptions,
  c: Context<AppEnv>,
  check: () => Promise<UserRecord | null>,
): Promise<UserRecord | null> {
  try {
    return await check();
  } catch (e) {
    if (e instanceof ThrottledError) o.audit(c, "throttled", { reason: `retry in ${e.retryAfter} s` });
    throw e;
  }
}

/** The known-device cookie after a successful login of `user`. */
export function deviceCookie(o: SessionRoutesOptions, c: Context<AppEnv>, user: UserRecord): string {
  const name = deviceCookieName(o.sessionName);
  const value = rememberDevice(readCookie(c.req.header("cookie") ?? null, name), user, o.now());
  return deviceCookieHeader(name, value, KNOWN_DEVICE_MAX_AGE_SECONDS, cookieOptionsOf(o, c));
}

/** How the session routes set cookies: `Secure` over HTTPS, `Domain` from COOKIE_DOMAIN. */
export function cookieOptionsOf(o: SessionRoutesOptions, c: Context<AppEnv>): CookieOptions {
  return { secure: o.isHttps(c.req.raw), domain: o.cookieDomain };
}

/** The 400 of a session route under an auth type without sessions. */
export function noSessions(auth: AuthMode): HttpError {
  return new HttpError(400, `Sessions are not enabled: AUTH_TYPE is ${auth.label}; use session_auth, session_exp_auth or session_db_auth`);
}

/**
 * The end of every successful login (password, passkey): the verified
 * address EMAIL_VERIFICATION=required asks for, a new session, the audit
 * line `event`, and the answer: the user's JSON with the session cookie and
 * the known-device cookie. `account`: the user's account record when the
 * caller has read it (null: none stored); undefined: read here if needed.
 */
export async function startSession(
  o: SessionRoutesOptions,
  c: Context<AppEnv>,
  user: UserRecord,
  event: "login" | "passkey_login",
  account?: AccountRecord | null,
): Promise<Response> {
  // Read only while verification is on: the answer shows it, and "required" refuses an unverified address.
  if (o.emailVerification !== "off" && account === undefined) account = await o.users.account(user.id);
  if (o.emailVerification === "required" && account?.email_verified === false) {
    // After the credentials were proven: only the account's owner learns that it awaits verification.
    o.audit(c, "login_failed", { user_id: user.id, reason: "email not verified" });
    throw new HttpError(403, "email not verified");
  }
  if (!o.sessions) throw noSessions(o.auth);
  // Always a new session (no fixation): a cookie the client already has is never reused.
  let created: { token: string; expiresAt: number | null };
  try {
    created = await o.sessions.create(user.id, { ip: o.clientOf(c), userAgent: c.req.header("user-agent") ?? null });
  } catch (e) {
    // Deleted between the credential check and now: as if it never existed.
    if (e instanceof UserGoneError) throw new HttpError(401, "invalid email or password", o.challenge);
    throw e;
  }
  o.audit(c, event, { user_id: user.id, session: hashToken(created.token) });
  const cookie = sessionCookie(o.sessionName, created.token, { ...cookieOptionsOf(o, c), maxAgeSeconds: absoluteSeconds(o) });
  return jsonWithCookies(c, await o.view.one(user, account), [cookie, deviceCookie(o, c, user)]);
}

/** Login and logout, with the aliases the original's README names. */
export function sessionRoutes(o: SessionRoutesOptions): Route[] {
  const cookieOptions = (c: Context<AppEnv>) => cookieOptionsOf(o, c);

  async function login(c: Context<AppEnv>) {
    // Login CSRF: a hostile page must not log a visitor into the attacker's
    // account (then read what the victim types into it). curl and scripts
    // send neither Origin nor Sec-Fetch-Site and are not affected.
    const crossSite = o.crossSite(c.req.raw);
    if (crossSite !== null) {
      o.audit?.(c, "cross_site_refused", { reason: crossSite });
      throw new HttpError(403, "Forbidden");
    }
    // Form fields or a JSON object; the query string is ignored, as in the original.
    const form = await readLoginFields(c.req.raw, o.maxBodyBytes);
    const email = form.get("email");
    if (!email) throw new HttpError(400, "email missing");
    const password = form.get("password");
    if (!password) throw new HttpError(400, "password missing");
    const { client, trusted } = await whoIsAsking(o, c, () => o.users.findByEmail(email));
    // One answer for an unknown email and a wrong password, in the same time:
    // the original's 404/401 split told anyone which emails have accounts.
    // The second factor is checked inside the throttled check: a wrong or
    // missing code keeps the failure counted in advance, so a code guesser
    // is locked out like a password guesser, and only a complete login
    // clears the counters (see second-factor-login.ts).
    const factor = loginFactor(o.factors, form.get("code"));
    const user = await auditedCheck(
      o,
      c,
      () => throttled(o.throttle, client, email, () => factor.check(o.users.checkWithAccount(email, password)), trusted),
    );
    if (factor.refused) {
      o.audit(c, "second_factor_failed", { user_id: factor.refused.userId, reason: factor.refused.reason });
      throw new HttpError(401, factor.refused.reason, o.challenge);
    }
    if (factor.used === "recovery") o.audit(c, "recovery_code_used", { user_id: user?.id });
    if (!user) {
      // The log (not the client) says which: an operator needs to tell guessing from typos.
      const known = await o.users.findByEmail(email);
      o.audit(c, "login_failed", { user_id: known?.id ?? null, reason: known ? "wrong password" : "unknown email" });
      throw new HttpError(401, "invalid email or password", o.challenge);
    }
    return await startSession(o, c, user, "login", factor.account);
  }

  async function logout(c: Context<AppEnv>) {
    // The alias sits on a public path: run the same 401/403 steps here first,
    // so that it answers exactly as /auth_session/logout does.
    if (!c.get("user") && o.auth.strategy !== "none") c.set("user", (await o.authenticate(c)).user);
    if (!o.sessions) throw noSessions(o.auth);
    const token = readCookie(c.req.header("cookie") ?? null, o.sessionName);
    if (!token || !(await o.sessions.destroy(token))) throw new HttpError(403, "Forbidden");
    o.audit(c, "logout", { user_id: c.get("user")?.id, session: hashToken(token) });
    return json(c, {}, 200, { "Set-Cookie": clearedCookie(o.sessionName, cookieOptions(c)) });
  }

  const loginDoc = {
    summary: "Log in: start a session",
    body: LoginBody,
    bodyTypes: ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
    responses: {
      200: "The user; Set-Cookie carries the session",
      400: "email missing, password missing, Wrong format, or sessions are not enabled",
      401: "invalid email or password; second factor required (send `code` too); invalid code",
      403: "A cross-site request, or email not verified (EMAIL_VERIFICATION=required)",
      413: "Body too large",
      429: "Too many failed logins (Retry-After)",
    },
    answer: UserAnswer,
  };
  const logoutDoc = {
    summary: "Log out: end the current session",
    responses: {
      200: "{}; the cookie is cleared",
      400: "Sessions are not enabled",
      401: "No session cookie",
      403: "An unknown or ended session, or a cross-site request",
    },
    answer: EmptyAnswer,
    sessionOnly: true,
  };
  return [
    {
      method: "GET",
      path: "/api/v1/auth_type",
      public: true,
      summary: "How this server authenticates: its AUTH_TYPE, and whether logging in starts a session",
      responses: { 200: '{"auth_type": "session_db_auth", "sessions": true}' },
      answer: AuthTypeAnswer,
      // What the sign-in page needs to know before anyone logs in; the
      // login's own 400 would only tell after a correct password.
      handler: (c) => json(c, { auth_type: o.auth.type, sessions: o.sessions !== null }),
    },
    { method: "POST", path: "/api/v1/auth_session/login", public: true, ...loginDoc, handler: login },
    { method: "DELETE", path: "/api/v1/auth_session/logout", ...logoutDoc, handler: logout },
    {
      method: "POST",
      path: "/api/v1/auth_session",
      public: true,
      ...loginDoc,
      summary: "Log in (alias of /auth_session/login)",
      handler: login,
    },
    {
      method: "DELETE",
      path: "/api/v1/auth_session",
      public: true,
      ...logoutDoc,
      summary: "Log out (alias of /auth_session/logout)",
      handler: logout,
    },
  ];
}

/** The cookie's Max-Age: the absolute lifetime, when there is one (an idle limit is the server's to enforce). */
function absoluteSeconds(o: SessionRoutesOptions): number | null {
  return o.auth.expiring && o.sessions ? (o.sessions.lifetime.absolute || null) : null;
}
