import { InvalidInputError, NotFoundError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/records.ts";
import { createUsersRepo, type UsersRepo } from "../repos/users.ts";
import { createUserView } from "../http/user-json.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { CliError, type CommandContext } from "./context.ts";

/** `user add`, `user admin`, `user list`, `user passwd`, `user delete`: the API's user rules, from a shell. */

export function repoOver(ctx: CommandContext, driver: StorageDriver): UsersRepo {
  return createUsersRepo({ driver, hasher: ctx.hasher, now: ctx.now, passwordMinLength: ctx.config.passwordMinLength });
}

/** A user as commands name it: id and email. */
export const shown = (u: UserRecord): string => `${u.id} <${u.email ?? ""}>`;

/** Creates a user through the API's repo: same validation, hashing and duplicate rule. */
export async function userAdd(
  ctx: CommandContext,
  email: string,
  password: string,
  firstName: string | null,
  lastName: string | null,
  admin = false,
): Promise<void> {
  const repo = repoOver(ctx, ctx.driver);
  const user = await repo.create({ email, password, first_name: firstName, last_name: lastName });
  ctx.io.out(`created user ${shown(user)}`);
  if (admin) await grant(ctx, repo, user, false);
}

/** Grants or revokes, and says what that means for the user under the configuration at hand. */
async function grant(ctx: CommandContext, repo: UsersRepo, user: UserRecord, revoke: boolean): Promise<void> {
  try {
    await repo.setAdmin(user, !revoke);
  } catch (e) {
    if (e instanceof NotFoundError) throw new CliError(`user ${shown(user)} was deleted meanwhile`);
    throw e;
  }
  if (revoke) {
    ctx.io.out(`revoked the admin rights of user ${shown(user)}`);
    return;
  }
  ctx.io.out(`granted admin rights to user ${shown(user)} for the address ${(user.email ?? "").toLowerCase()}`);
  // The grant proves the address; ADMIN_EMAILS says which addresses may be
  // admins. Both are needed, so a grant the configuration does not back is
  // pointed out rather than silently useless.
  if (!ctx.config.adminEmails.includes((user.email ?? "").toLowerCase())) {
    ctx.io.err(`note: ${user.email ?? ""} is not in ADMIN_EMAILS: the grant takes effect only once it is listed there`);
  }
  if (ctx.config.accessPolicy !== "self") {
    ctx.io.err(`note: ACCESS_POLICY is ${ctx.config.accessPolicy}: admin rights matter only under ACCESS_POLICY=self`);
  }
}

/**
 * `user admin <who> [--revoke]`: the one way an account becomes an admin,
 * since running it takes a shell on the server (the API cannot prove that
 * an address belongs to whoever signed up with it).
 */
export async function userAdmin(ctx: CommandContext, who: string, revoke: boolean): Promise<void> {
  const user = await findUser(ctx.driver, who);
  await grant(ctx, repoOver(ctx, ctx.driver), user, revoke);
}

/** One field of a list line: tabs and line breaks escaped, so that one record is always one line. */
const field = (v: string | null): string =>
  (v ?? "").replace(/[\t\r\n\\]/g, (c) => ({ "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\" })[c]!);

/** Fields as one tab-separated line. */
export const tabbed = (fields: (string | null)[]): string => fields.map(field).join("\t");

/**
 * Every user in storage order: tab-separated columns, or JSON lines (the
 * API's user JSON, no hash: with EMAIL_VERIFICATION on, `email_verified` too).
 */
export async function userList(ctx: CommandContext, json: boolean): Promise<void> {
  const users = await ctx.driver.listUsers();
  const shownAs = json ? await createUserView(repoOver(ctx, ctx.driver), ctx.config.emailVerification).list(users) : [];
  // Said on stderr, so that a script reading the list still gets an empty one.
  if (users.length === 0) ctx.io.err(`no users in ${ctx.driver.kind} storage at ${ctx.driver.location}`);
  // Written in blocks: one write per user is slow for 100k users on a pipe.
  for (let i = 0; i < users.length; i += 1000) {
    const lines = users.slice(i, i + 1000).map((u, j) =>
      json ? JSON.stringify(shownAs[i + j]) : tabbed([u.id, u.email, u.first_name, u.last_name, u.created_at])
    );
    ctx.io.out(lines.join("\n"));
  }
}

/**
 * The user named by an id or an email. Data of the original may hold one
 * email several times: then the email is ambiguous and the id is asked for,
 * rather than silently changing or deleting the first of them.
 */
export async function findUser(driver: StorageDriver, who: string): Promise<UserRecord> {
  const byId = await driver.getUser(who);
  if (byId) return byId;
  // Emails are stored in NFC; one typed in another normal form names the same account (the original's data as it is, too).
  const nfc = who.normalize("NFC");
  const email = (await driver.findUserByEmail(nfc)) ? nfc : (await driver.findUserByEmail(who)) ? who : null;
  if (email === null) throw new CliError(`no user with the id or email "${who}"`);
  const same = (await driver.listUsers()).filter((u) => u.email === email);
  if (same.length > 1) {
    throw new CliError(`${same.length} users have the email "${who}" (ids: ${same.map((u) => u.id).join(", ")}); name one by its id`);
  }
  return same[0];
}

/** Sets a new password: re-hashed, `updated_at` refreshed (unlike the silent re-hash at login, this is a change). */
export async function userPasswd(ctx: CommandContext, who: string, password: string): Promise<void> {
  const user = await findUser(ctx.driver, who);
  try {
    await repoOver(ctx, ctx.driver).changePassword(user, password);
  } catch (e) {
    if (e instanceof NotFoundError) throw new CliError(`user ${shown(user)} was deleted meanwhile`);
    if (e instanceof InvalidInputError) throw new CliError(`Can't change the password: ${e.reason}`);
    throw e;
  }
  ctx.io.out(`password changed for user ${shown(user)}`);
}

/** Deletes a user; the driver removes its stored sessions in the same step. */
export async function userDelete(ctx: CommandContext, who: string): Promise<void> {
  const user = await findUser(ctx.driver, who);
  if (!(await repoOver(ctx, ctx.driver).delete(user.id))) throw new CliError(`user ${shown(user)} was deleted meanwhile`);
  ctx.io.out(`deleted user ${shown(user)}`);
}
