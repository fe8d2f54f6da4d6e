import type { Context } from "hono";
import { z } from "zod";
import type { Mailer } from "../auth/mailer.ts";
import type { RateLimit } from "../auth/rate-limit.ts";
import type { SelfService } from "../auth/self-service.ts";
import { throttled } from "../auth/strategies.ts";
import { NotFoundError } from "../domain/errors.ts";
import { readLoginFields } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { HttpError } from "./errors.ts";
import { json } from "./respond.ts";
import type { Route } from "./routes.ts";
import { EmptyAnswer, ErrorAnswer } from "./schemas.ts";
import { auditedCheck, type SessionRoutesOptions, whoIsAsking } from "./session-routes.ts";

/** What the self-service routes need beyond the session routes' options. */
export type SelfServiceRoutesOptions = SessionRoutesOptions & {
  selfService: SelfService;
  mailer: Mailer;
  /** Requests per client address to the public self-service routes. */
  perClient: RateLimit;
};

const NO_EMAIL = "email is not configured (SMTP_URL unset), or the storage is unavailable";
const FORM_TYPES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"] as const;
const token = z.string().min(1).meta({ description: "the token of the link (after #reset= or #verify=)" });
const ResetBody = z.object({ email: z.string().min(1).meta({ example: "bob@hbtn.io" }) }).meta({ id: "PasswordReset" });
const ResetConfirmBody = z.object({
  token,
  new_password: z.string().min(1).meta({ description: "checked against the sign-up rules" }),
}).meta({ id: "PasswordResetConfirm" });
const VerifyBody = z.object({ token }).meta({ id: "VerifyEmail" });
const EmailChangeBody = z.object({
  email: z.string().min(1).meta({ description: "the new address", example: "bob@example.com" }),
  current_password: z.string().min(1).meta({ description: "the password in use now" }),
}).meta({ id: "EmailChange" });

/**
 * Password reset, email verification and email change (see
 * src/auth/self-service.ts for the flows). Bodies are JSON objects or
 * form fields, like the login's; the public routes are limited per client
 * address, and the answers never tell whether an email has an account.
 */
export function selfServiceRoutes(o: SelfServiceRoutesOptions): Route[] {
  const noEmail = () => new HttpError(503, "email is not configured");
  /** The string fields of the body; `names` must all be there (400 `<name> missing`, in order). */
  async function fields(c: Context<AppEnv>, ...names: string[]): Promise<string[]> {
    const form = await readLoginFields(c.req.raw, o.maxBodyBytes);
    return names.map((n) => {
      const v = form.get(n);
      if (!v) throw new HttpError(400, `${n} missing`);
      return v;
    });
  }
  /** Counts the request against its client's allowance: 429 past it. */
  async function limit(c: Context<AppEnv>): Promise<void> {
    const wait = await o.perClient.take(o.clientOf(c));
    if (wait > 0) throw new HttpError(429, `Too many requests; retry in ${wait} s`, { "Retry-After": String(wait) });
  }
  const me = (c: Context<AppEnv>) => {
    const user = c.get("user");
    // Without an auth type nobody is "me".
    if (!user) throw new NotFoundError();
    return user;
  };
  const common = {
    400: "Wrong format or a field missing",
    413: "Body too large",
    429: "Too many requests from this address (Retry-After)",
  };
  const badToken = "invalid or expired token, a field missing, or Can't update User: <reason>";
  const badReset = "invalid or expired token, a field missing, or Can't create User: <reason> (the sign-up rules)";

  return [
    {
      method: "POST",
      path: "/api/v1/auth_session/password_reset",
      public: true,
      summary: "Forgot password: email a reset link, if the email has an account (the same answer either way)",
      body: ResetBody,
      bodyTypes: FORM_TYPES,
      responses: { ...common, 202: "{}, whether or not the email has an account", 503: NO_EMAIL },
      answer: EmptyAnswer,
      answers: { 503: ErrorAnswer },
      async handler(c) {
        await limit(c);
        if (!o.mailer.configured) throw noEmail();
        const [email] = await fields(c, "email");
        const userId = await o.selfService.requestReset(email);
        o.audit(c, "password_reset_requested", { user_id: userId, reason: userId ? undefined : "unknown email" });
        return json(c, {}, 202);
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth_session/password_reset/confirm",
      public: true,
      summary: "Set a new password with a reset link's token; every session of the user ends",
      body: ResetConfirmBody,
      bodyTypes: FORM_TYPES,
      responses: { ...common, 200: "{}", 400: badReset },
      answer: EmptyAnswer,
      async handler(c) {
        await limit(c);
        const [tokenValue, password] = await fields(c, "token", "new_password");
        const user = await o.selfService.confirmReset(tokenValue, password);
        o.audit(c, "password_reset", { user_id: user.id });
        return json(c, {});
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth_session/verify_email",
      public: true,
      summary: "Verify an email address (or complete an email change) with a link's token",
      body: VerifyBody,
      bodyTypes: FORM_TYPES,
      responses: { ...common, 200: "{}", 400: badToken },
      answer: EmptyAnswer,
      async handler(c) {
        await limit(c);
        const [tokenValue] = await fields(c, "token");
        const { user, changed } = await o.selfService.verifyEmail(tokenValue);
        o.audit(c, changed ? "email_changed" : "email_verified", { user_id: user.id });
        return json(c, {});
      },
    },
    {
      method: "POST",
      path: "/api/v1/users/me/email_verification",
      summary: "Email the current user a new verification link",
      responses: {
        202: "{} (nothing is sent past a few emails an hour)",
        400: "email already verified",
        404: "No authenticated user (no auth type)",
        503: NO_EMAIL,
      },
      answer: EmptyAnswer,
      answers: { 503: ErrorAnswer },
      async handler(c) {
        const user = me(c);
        if (!o.mailer.configured) throw noEmail();
        const account = await o.users.account(user.id);
        if (account?.email_verified !== false) throw new HttpError(400, "email already verified");
        await o.selfService.resendVerification(user);
        o.audit(c, "verification_sent", { user_id: user.id });
        return json(c, {}, 202);
      },
    },
    {
      method: "PUT",
      path: "/api/v1/users/me/email",
      summary: "Change the current user's email: it changes once the link sent to the new address is used",
      body: EmailChangeBody,
      bodyTypes: FORM_TYPES,
      responses: {
        ...common,
        202: "{}: a link went to the new address and a notice to the current one (an address another user has gets a notice only)",
        400: "Wrong format, a field missing, or Can't update User: <reason>",
        401: "invalid email or password (the current password is wrong)",
        404: "No authenticated user (no auth type)",
        429: "Too many failed attempts (Retry-After)",
        503: NO_EMAIL,
      },
      answer: EmptyAnswer,
      answers: { 503: ErrorAnswer },
      async handler(c) {
        const user = me(c);
        if (!o.mailer.configured) throw noEmail();
        const [raw, password] = await fields(c, "email", "current_password");
        const address = o.users.checkNewEmail(raw);
        if (address.toLowerCase() === (user.email ?? "").toLowerCase()) {
          throw new HttpError(400, "Can't update User: the account already has this email");
        }
        // Throttled like a login: a stolen session must not become a password oracle.
        const { client, trusted } = await whoIsAsking(o, c, () => Promise.resolve(user));
        const check = () => o.users.verifyPassword(user, password);
        if (!(await auditedCheck(o, c, () => throttled(o.throttle, client, user.email ?? "", check, trusted)))) {
          o.audit(c, "login_failed", { user_id: user.id, reason: "wrong current password" });
          throw new HttpError(401, "invalid email or password", o.challenge);
        }
        o.selfService.requestEmailChange(user, address);
        o.audit(c, "email_change_requested", { user_id: user.id });
        return json(c, {}, 202);
      },
    },
  ];
}
