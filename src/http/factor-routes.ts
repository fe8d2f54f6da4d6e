import type { Context } from "hono";
import { factorsOf } from "../auth/second-factor.ts";
import { NotFoundError } from "../domain/errors.ts";
import { readJsonObject } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { checkCurrentPassword } from "./current-password.ts";
import { HttpError } from "./errors.ts";
import { FactorsAnswer, RecoveryCodesAnswer, TotpConfirmBody, TotpDisableBody, TotpEnrolmentAnswer } from "./factor-schemas.ts";
import { json } from "./respond.ts";
import type { Route } from "./routes.ts";
import { EmptyAnswer, parseBody } from "./schemas.ts";
import { noSessions, type SessionRoutesOptions } from "./session-routes.ts";

/**
 * A user's own second factor: set up TOTP (pending), confirm it with a
 * first code (which turns it on and gives the recovery codes, once),
 * remove it with the current password, and see the factors. Every change
 * is an atomic update of the account record and one auth event line.
 */
export function factorRoutes(o: SessionRoutesOptions): Route[] {
  /** The request's user; nobody is "me" without an auth type (404, as /users/me). */
  const me = (c: Context<AppEnv>) => {
    const user = c.get("user");
    if (!user) throw new NotFoundError();
    return user;
  };
  /** A factor is only asked at a session login: where logging in makes no session, turning one on would lock the user out. */
  const needsSessions = () => {
    if (!o.sessions) throw noSessions(o.auth);
  };

  return [
    {
      method: "GET",
      path: "/api/v1/users/me/factors",
      summary: "The current user's second factors",
      responses: { 200: "Whether TOTP is on, recovery codes left, passkeys registered", 404: "No authenticated user (no auth type)" },
      answer: FactorsAnswer,
      handler: async (c) => json(c, factorsOf(await o.users.account(me(c).id))),
    },
    {
      method: "POST",
      path: "/api/v1/users/me/totp",
      summary: "Set up TOTP: a new secret, pending until confirmed with a first code (503 when the server has no SECRET_KEY)",
      responses: {
        200: "The secret and the otpauth:// URL to scan (a pending one is replaced)",
        400: "Sessions are not enabled (a second factor needs session logins)",
        404: "No authenticated user (no auth type)",
        409: "TOTP is already on: remove it first",
      },
      answer: TotpEnrolmentAnswer,
      async handler(c) {
        const user = me(c);
        needsSessions();
        const enrolled = await o.factors.enrol(user.id, user.email ?? user.id);
        if (!enrolled) throw new HttpError(409, "TOTP is already on: remove it first (DELETE /api/v1/users/me/totp)");
        o.audit(c, "totp_enrolled", { user_id: user.id });
        return json(c, enrolled);
      },
    },
    {
      method: "POST",
      path: "/api/v1/users/me/totp/confirm",
      summary: "Turn TOTP on with a first code; answers the 10 recovery codes, this once",
      body: TotpConfirmBody,
      responses: {
        200: "TOTP is on; the recovery codes",
        400: "Wrong format, code missing, invalid code, or sessions are not enabled",
        404: "No authenticated user (no auth type)",
        409: "Nothing to confirm (set up TOTP first), or TOTP is already on",
        413: "Body too large",
      },
      answer: RecoveryCodesAnswer,
      async handler(c) {
        const user = me(c);
        needsSessions();
        const body = parseBody(TotpConfirmBody, await readJsonObject(c.req.raw, o.maxBodyBytes), "update");
        const outcome = await o.factors.confirm(user.id, body.code);
        if (outcome === "none") throw new HttpError(409, "No TOTP set-up is pending: POST /api/v1/users/me/totp first");
        if (outcome === "active") throw new HttpError(409, "TOTP is already on");
        if (outcome === "invalid") {
          o.audit(c, "second_factor_failed", { user_id: user.id, reason: "invalid code at TOTP confirmation" });
          // The caller holds a session and was just shown the secret: a typo, not a guess (400, not the login's 401).
          throw new HttpError(400, "invalid code");
        }
        // A changed user record is what every process's Basic credential cache checks: Basic stops working for this user.
        await o.users.touch(user);
        o.audit(c, "totp_confirmed", { user_id: user.id, session: c.get("session")?.tokenHash });
        return json(c, { recovery_codes: outcome });
      },
    },
    {
      method: "DELETE",
      path: "/api/v1/users/me/totp",
      summary: "Turn TOTP off (and void its recovery codes); needs the current password",
      body: TotpDisableBody,
      responses: {
        200: "{} (also when TOTP was not on)",
        400: "Wrong format or current_password missing",
        401: "invalid email or password (the current password is wrong)",
        404: "No authenticated user (no auth type)",
        413: "Body too large",
        429: "Too many failed attempts (Retry-After)",
      },
      answer: EmptyAnswer,
      async handler(c) {
        const user = me(c);
        const body = parseBody(TotpDisableBody, await readJsonObject(c.req.raw, o.maxBodyBytes), "update");
        await checkCurrentPassword(o, c, user, body.current_password);
        if (await o.factors.disable(user.id)) {
          // As when it was turned on: every process's Basic credential cache lets this user in again at once.
          await o.users.touch(user);
          o.audit(c, "totp_disabled", { user_id: user.id, session: c.get("session")?.tokenHash });
        }
        return json(c, {});
      },
    },
  ];
}
