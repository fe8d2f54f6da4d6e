import type { Context } from "hono";
import { challengeOf, requestOptions, userOfAssertion, verifyAssertion } from "../auth/passkeys.ts";
import { throttled } from "../auth/strategies.ts";
import { hasSecondFactor } from "../domain/accounts.ts";
import { formatTimestamp, type UserRecord } from "../domain/records.ts";
import type { AppEnv } from "./context.ts";
import { HttpError } from "./errors.ts";
import { issued, passkeyBody, type PasskeyRoutesOptions } from "./passkey-routes.ts";
import { PasskeyLoginBody, RequestOptionsAnswer } from "./passkey-schemas.ts";
import type { Route } from "./routes.ts";
import { json } from "./respond.ts";
import { UserAnswer } from "./schemas.ts";
import { auditedCheck, noSessions, startSession, whoIsAsking } from "./session-routes.ts";

/** Why a passkey login was refused: what the log says, and what the client is told. */
type Failure = { reason: string; status: number; message: string };

const NOT_ACCEPTED = { status: 401, message: "passkey not accepted" };
const STALE = { status: 400, message: "challenge expired or already used: ask for new options" };

/**
 * `POST /auth_session/passkey`: a login with a passkey, answered exactly as
 * a password login (the user, the session cookie, the known-device cookie).
 *
 * The assertion's user handle names the user; the credential must be one of
 * that user's passkeys, its challenge one this service issued for a login
 * and not used yet, its origin and relying party ours, its signature good,
 * and its counter ahead of the stored one. A user with TOTP needs an
 * assertion with user verification (the authenticator checked a PIN or a
 * biometric: something known or something one is, on top of the device
 * held), else 401 "second factor required".
 *
 * Throttled like a password login: per client and credential, per client,
 * and per credential an hour (a browser with the user's known-device
 * cookie passes that last one, so a flood of bad assertions cannot lock the
 * owner out).
 */
export function passkeyLogin(o: PasskeyRoutesOptions): Route[] {
  async function check(c: Context<AppEnv>, response: unknown, userId: string | null): Promise<UserRecord | Failure> {
    const rp = o.relyingParty(c.req.raw);
    const challenge = challengeOf(response);
    // Single use: taken out of the store whatever happens next.
    const taken = challenge === null ? null : await o.challenges.take(challenge, "login");
    if (!taken) return { reason: "unknown, used or expired challenge", ...STALE };
    const user = userId === null ? null : await o.users.get(userId);
    if (!user) return { reason: "unknown user handle", ...NOT_ACCEPTED };
    const account = await o.users.account(user.id);
    const id = (response as { id?: unknown }).id;
    const passkey = account?.passkeys.find((p) => p.id === id);
    if (!account || !passkey) return { reason: "unknown credential", ...NOT_ACCEPTED };
    const verified = await verifyAssertion(rp, challenge!, response, passkey);
    if (!verified.ok) return { reason: verified.reason, ...NOT_ACCEPTED };
    if (hasSecondFactor(account) && !verified.userVerified) {
      return { reason: "no user verification, and the user has a second factor", status: 401, message: "second factor required" };
    }
    // Checked again in the atomic write: of two logins racing with one counter value, one wins.
    const stored = await o.driver.updateAccount(user.id, (current) => {
      const now = current.passkeys.find((p) => p.id === passkey.id);
      if (!now) return { account: null, result: "passkey removed meanwhile" };
      if ((verified.counter > 0 || now.counter > 0) && verified.counter <= now.counter) {
        return { account: null, result: `counter ${verified.counter} is not ahead of ${now.counter}` };
      }
      const used = { ...now, counter: verified.counter, last_used_at: formatTimestamp(o.now()) };
      return { account: { ...current, passkeys: current.passkeys.map((p) => (p.id === now.id ? used : p)) }, result: null };
    });
    return stored === null ? user : { reason: stored, ...NOT_ACCEPTED };
  }

  async function login(c: Context<AppEnv>) {
    // Login CSRF, as for the password login: a hostile page must not log a visitor in.
    const crossSite = o.crossSite(c.req.raw);
    if (crossSite !== null) {
      o.audit(c, "cross_site_refused", { reason: crossSite });
      throw new HttpError(403, "Forbidden");
    }
    if (!o.sessions) throw noSessions(o.auth);
    const { response } = await passkeyBody(o, c, PasskeyLoginBody);
    const userId = userOfAssertion(response);
    const { client, trusted } = await whoIsAsking(o, c, () => (userId === null ? Promise.resolve(null) : o.users.get(userId)));
    let failure: Failure | null = null;
    const user = await auditedCheck(o, c, () =>
      throttled(o.throttle, client, `passkey:${String(response.id).slice(0, 512)}`, async () => {
        const outcome = await check(c, response, userId);
        if ("status" in outcome) failure = outcome;
        return "status" in outcome ? null : outcome;
      }, trusted));
    if (!user) {
      const f = failure as Failure | null ?? { reason: "not verified", ...NOT_ACCEPTED };
      o.audit(c, "passkey_failed", { user_id: userId, reason: f.reason });
      throw new HttpError(f.status, f.message);
    }
    return await startSession(o, c, user, "passkey_login");
  }

  return [
    {
      method: "POST",
      path: "/api/v1/auth_session/passkey/options",
      public: true,
      summary: "Options for navigator.credentials.get(): log in with a passkey (no email: the authenticator offers its accounts)",
      responses: {
        200: "The request options; the challenge is good once, for 5 minutes",
        400: "Sessions are not enabled",
        429: "Too many options asked for",
      },
      answer: RequestOptionsAnswer,
      async handler(c) {
        if (!o.sessions) throw noSessions(o.auth);
        return json(c, await issued(o, c, await requestOptions(o.relyingParty(c.req.raw)), "login", null));
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth_session/passkey",
      public: true,
      summary: "Log in with a passkey: the browser's answer to the request options; answers as a password login",
      body: PasskeyLoginBody,
      responses: {
        200: "The user; Set-Cookie carries the session",
        400: "Wrong format, a field missing, a used or expired challenge, or sessions are not enabled",
        401: "passkey not accepted, or second factor required (the passkey did not verify the user, who has TOTP)",
        403: "A cross-site request",
        413: "Body too large",
        429: "Too many failed logins (Retry-After)",
      },
      answer: UserAnswer,
      handler: login,
    },
  ];
}
