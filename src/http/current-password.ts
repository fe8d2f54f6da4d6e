import type { Context } from "hono";
import { throttled } from "../auth/strategies.ts";
import type { UserRecord } from "../domain/records.ts";
import type { AppEnv } from "./context.ts";
import { HttpError } from "./errors.ts";
import { auditedCheck, type SessionRoutesOptions, whoIsAsking } from "./session-routes.ts";

/**
 * Checks the current password of the request's user before a security
 * change (a new password, removing a second factor): throttled like a
 * login, so that a stolen session cannot become a password oracle. A wrong
 * password is logged and answered 401; the user (re-hashed if need be)
 * otherwise.
 */
export async function checkCurrentPassword(
  o: SessionRoutesOptions,
  c: Context<AppEnv>,
  user: UserRecord,
  password: string,
): Promise<UserRecord> {
  const { client, trusted } = await whoIsAsking(o, c, () => Promise.resolve(user));
  const check = () => o.users.verifyPassword(user, password);
  const checked = await auditedCheck(o, c, () => throttled(o.throttle, client, user.email ?? "", check, trusted));
  if (!checked) {
    o.audit(c, "login_failed", { user_id: user.id, reason: "wrong current password" });
    throw new HttpError(401, "invalid email or password", o.challenge);
  }
  return checked;
}
