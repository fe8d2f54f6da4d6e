import type { Context } from "hono";
import { getPath } from "hono/utils/url";
import type { MiddlewareHandler } from "hono";
import { keyedHmacSha256, toHex } from "../lib/sha256.ts";
import type { Logger } from "../lib/log.ts";
import type { AppEnv } from "./context.ts";

/** The authentication events the service records. */
export type AuthEvent =
  | "signup"
  | "login"
  | "login_failed"
  | "throttled"
  | "logout"
  | "session_ended"
  | "password_changed"
  | "user_deleted"
  | "cross_site_refused"
  | "next_refused"
  | "next_bounced"
  | "passkey_added"
  | "passkey_removed"
  | "passkey_login"
  | "passkey_failed"
  | "totp_enrolled"
  | "totp_confirmed"
  | "totp_disabled"
  | "recovery_code_used"
  | "factors_reset"
  | "second_factor_failed"
  | "signup_refused"
  | "password_reset_requested"
  | "password_reset"
  | "verification_sent"
  | "email_verified"
  | "email_change_requested"
  | "email_changed";

/** What an auth event line may add to the time, event and client address. */
export type AuthEventFields = {
  /** The user it concerns (for a failure, when the account exists). */
  user_id?: string | null;
  /** The token hash of the session it concerns; logged only as a salted hash. */
  session?: string | null;
  reason?: string;
  /** A user acted on by another (a deletion). */
  target?: string;
  count?: number;
  /** A URL it concerns, already shortened for the log (the sign-in page's refused `next`). */
  url?: string;
};

/** Records one authentication event of a request. */
export type Audit = (c: Context<AppEnv>, event: AuthEvent, fields?: AuthEventFields) => void;

/**
 * The auth event log: one structured line per event, with the time, the
 * client address, the user id and a salted hash of the session (so that an
 * operator can follow one session through the log without the log holding
 * anything a cookie could be rebuilt from). Never a password, a token or a
 * stored hash. The salt is this process's and dies with it.
 */
export function createAudit(log: Logger, clientOf: (c: Context<AppEnv>) => string): Audit {
  const salted = keyedHmacSha256(crypto.getRandomValues(new Uint8Array(16)));
  return (c, event, fields = {}) => {
    log.record("auth", {
      event,
      client: clientOf(c),
      user_id: fields.user_id ?? undefined,
      session: fields.session ? toHex(salted(fields.session)).slice(0, 16) : undefined,
      reason: fields.reason,
      target: fields.target,
      count: fields.count,
      url: fields.url,
    });
  };
}

/**
 * The access log: one line per request (method, path without its query,
 * status, milliseconds, client address), never a cookie, an Authorization
 * header or a body. Skipped entirely when info lines are off.
 */
export function accessLog(log: Logger, clientOf: (c: Context<AppEnv>) => string): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    if (!log.infoEnabled) return await next();
    const started = performance.now();
    await next();
    log.record("access", {
      method: c.req.method,
      path: getPath(c.req.raw),
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      client: clientOf(c),
    });
  };
}
