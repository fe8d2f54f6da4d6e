import { issueToken, withToken } from "../auth/one-time-tokens.ts";
import { UserGoneError } from "../domain/errors.ts";
import { CliError, type CommandContext } from "./context.ts";
import { findUser, shown } from "./user-commands.ts";

/**
 * `user verify` and `user reset-link`: what an operator does for a user
 * whose email does not arrive. A shell on the server is the operator's
 * proof, as for `user admin`.
 */

/** Runs one atomic change of a user's account record, with the CLI's words for a user deleted meanwhile. */
async function updateAccount(ctx: CommandContext, who: string, change: Parameters<CommandContext["driver"]["updateAccount"]>[1]) {
  const user = await findUser(ctx.driver, who);
  try {
    await ctx.driver.updateAccount(user.id, change);
  } catch (e) {
    if (e instanceof UserGoneError) throw new CliError(`user ${shown(user)} was deleted meanwhile`);
    throw e;
  }
  return user;
}

/** `user verify <email|id>`: marks the user's address verified (the operator vouches for it). */
export async function userVerify(ctx: CommandContext, who: string): Promise<void> {
  const user = await updateAccount(ctx, who, (a) => ({ account: { ...a, email_verified: true }, result: undefined }));
  ctx.io.out(`verified the email of user ${shown(user)}`);
}

/**
 * `user reset-link <email|id>`: prints a password reset link, to be handed
 * to the user by other means (nothing is emailed). It works once, for
 * PASSWORD_RESET_TTL, like an emailed one.
 */
export async function userResetLink(ctx: CommandContext, who: string): Promise<void> {
  const origin = ctx.config.publicUrl;
  if (origin === null) {
    throw new CliError("user reset-link needs PUBLIC_URL (the origin of the link), e.g. PUBLIC_URL=https://auth.example.com");
  }
  const ttl = ctx.config.passwordResetTtl;
  const target = await findUser(ctx.driver, who);
  const issued = issueToken(target.id, "reset", null, ctx.now(), ttl);
  const user = await updateAccount(ctx, target.id, (a) => ({ account: withToken(a, issued.record, ctx.now()), result: undefined }));
  ctx.io.err(`a password reset link for user ${shown(user)}, valid once for ${ttl} s:`);
  ctx.io.out(`${origin}/#reset=${issued.token}`);
}
