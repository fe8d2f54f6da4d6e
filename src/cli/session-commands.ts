import { unlockAccount } from "../auth/throttle.ts";
import { createSessionManager, type SessionManager } from "../auth/sessions.ts";
import { createStorageSessionStore } from "../auth/session-store.ts";
import { CliError, type CommandContext } from "./context.ts";
import { findUser, shown, tabbed } from "./user-commands.ts";

/**
 * `sessions list`, `sessions end`, `user unlock`: what an operator does for
 * a user who lost a device or locked themselves out, without the API.
 */

/**
 * The stored sessions under the limits the server applies to them. Only
 * session_db_auth keeps sessions in the storage, and its sessions always
 * expire by SESSION_DURATION and SESSION_IDLE_TIMEOUT, whatever AUTH_TYPE
 * this shell happens to have.
 */
function managerOf(ctx: CommandContext): SessionManager {
  const { sessionDuration: absolute, sessionIdleTimeout: idle, maxSessionsPerUser } = ctx.config;
  return createSessionManager({
    store: createStorageSessionStore(ctx.driver),
    lifetime: { absolute, idle },
    now: ctx.now,
    maxPerUser: maxSessionsPerUser,
  });
}

/** A user's live stored sessions, newest first: tab-separated columns, or JSON lines. */
export async function sessionsList(ctx: CommandContext, who: string, json: boolean): Promise<void> {
  const user = await findUser(ctx.driver, who);
  const sessions = await managerOf(ctx).list(user.id);
  const lines = sessions.map(({ tokenHash: _, ...s }) =>
    json ? JSON.stringify(s) : tabbed([s.id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent])
  );
  if (lines.length > 0) ctx.io.out(lines.join("\n"));
  ctx.io.err(`${sessions.length} live session${sessions.length === 1 ? "" : "s"} of user ${shown(user)}`);
}

/** Ends one stored session of a user (by its id, as listed), or all of them. */
export async function sessionsEnd(ctx: CommandContext, who: string, sessionId: string | null): Promise<void> {
  const user = await findUser(ctx.driver, who);
  const sessions = managerOf(ctx);
  if (sessionId === null) {
    const ended = await sessions.endOthers(user.id, null);
    ctx.io.out(`ended ${ended} session${ended === 1 ? "" : "s"} of user ${shown(user)}`);
    return;
  }
  if (!(await sessions.endById(user.id, sessionId))) {
    throw new CliError(`user ${shown(user)} has no live session "${sessionId}" (see "sessions list ${who}")`);
  }
  ctx.io.out(`ended session ${sessionId} of user ${shown(user)}`);
}

/** Clears an account's failed-login counters, where the storage keeps them. */
export async function userUnlock(ctx: CommandContext, email: string): Promise<void> {
  const counters = ctx.driver.counters;
  if (!counters) {
    throw new CliError(
      `${ctx.driver.kind} storage keeps failed-login counters in the server's memory, not in the storage: ` +
        `restarting the server clears them (or wait: they fade within 15 minutes)`,
    );
  }
  const cleared = await unlockAccount(counters, email);
  ctx.io.out(
    cleared === 0 ? `no failed logins recorded for ${email}: nothing to clear` : `cleared the failed-login counters of ${email}`,
  );
}
