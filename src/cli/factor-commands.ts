import { createSecondFactors, factorsOf } from "../auth/second-factor.ts";
import { UserGoneError } from "../domain/errors.ts";
import { CliError, type CommandContext } from "./context.ts";
import { findUser, repoOver, shown } from "./user-commands.ts";

/**
 * `user factors` and `user reset-factors`: what an operator needs when a
 * user lost the phone with their authenticator app (and used up or lost
 * the recovery codes): see the user's second factors, and remove them so
 * that the password alone logs in again.
 */

/** `user factors <email|id>`: TOTP on or off, recovery codes left, passkeys by name. */
export async function userFactors(ctx: CommandContext, who: string): Promise<void> {
  const user = await findUser(ctx.driver, who);
  const account = await ctx.driver.getAccount(user.id);
  const view = factorsOf(account);
  const totp = account?.totp;
  ctx.io.out(`user ${shown(user)}`);
  if (view.totp) ctx.io.out(`TOTP: on since ${totp!.confirmed_at}, ${view.recovery_codes_left} recovery code(s) left`);
  else ctx.io.out(totp ? "TOTP: off (a set-up is pending: not asked at login until confirmed)" : "TOTP: off");
  const keys = account?.passkeys ?? [];
  ctx.io.out(`passkeys: ${keys.length}${keys.length ? ` (${keys.map((k) => JSON.stringify(k.name)).join(", ")})` : ""}`);
}

/** `user reset-factors <email|id>`: removes TOTP (pending or on) and every passkey; logged as an auth event. */
export async function userResetFactors(ctx: CommandContext, who: string): Promise<void> {
  const user = await findUser(ctx.driver, who);
  // SECRET_KEY is not needed to remove a sealed secret.
  const factors = createSecondFactors({ driver: ctx.driver, secretKey: null, now: ctx.now, issuer: "" });
  let before;
  try {
    before = await factors.reset(user.id);
  } catch (e) {
    if (e instanceof UserGoneError) throw new CliError(`user ${shown(user)} was deleted meanwhile`);
    throw e;
  }
  // A running server's Basic credential cache checks the user record: a changed one lets the password in again at once.
  if (before.totp) await repoOver(ctx, ctx.driver).touch(user);
  ctx.log.record("auth", { event: "factors_reset", client: "cli", user_id: user.id, reason: "cli user reset-factors" });
  if (!before.totp && before.passkeys === 0) {
    ctx.io.out(`user ${shown(user)} had no second factor left to remove: the password alone logs in`);
    return;
  }
  const removed = [before.totp ? "TOTP" : "", before.passkeys ? `${before.passkeys} passkey(s)` : ""].filter(Boolean).join(" and ");
  ctx.io.out(`removed ${removed} of user ${shown(user)}: the password alone logs in now`);
}
