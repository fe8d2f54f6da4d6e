import { sessionEnd, type SessionLifetime, type SessionRecord, type UserRecord } from "../domain/records.ts";

/**
 * The skip rules of an import (see `StorageDriver.importRecords`), once for
 * every driver: pure functions over what the store holds, which each driver
 * reads its own way (its tables, a few queries, the records of one batch)
 * and then writes its own way, as atomically as it can.
 */

export type Counts = { imported: number; skipped: number };

/** What the store holds of users, as far as the rules ask. */
export type HeldUsers = {
  /** True when a user with this id is stored. */
  hasUser(id: string): boolean;
  /** Ids of the stored users whose email equals `email` compared case-insensitively. */
  emailHolders(email: string | null): Iterable<string>;
};

/** What the store holds of sessions, as far as the rules ask. */
export type HeldSessions = {
  /** True when a session with this token hash is stored (false for a store that checks it as it writes). */
  hasSession(sessionId: string): boolean;
  /**
   * For a store whose sessions must name a stored user (a foreign key):
   * whether `userId` is stored, imported users included. Absent: any id goes.
   */
  hasUser?(userId: string): boolean;
};

/**
 * The users of a source, each id once: a repeated id is skipped (the
 * first one goes in), and counted.
 *
 * @example distinctUsers([a, a, b]) // { users: [a, b], repeated: 1 }
 */
export function distinctUsers(users: UserRecord[]): { users: UserRecord[]; repeated: number } {
  const seen = new Set<string>();
  const out = users.filter((u) => !seen.has(u.id) && Boolean(seen.add(u.id)));
  return { users: out, repeated: users.length - out.length };
}

/**
 * Which users an import adds, in order: not one whose id is stored or
 * repeated, nor one whose email (any case) a stored user outside the source
 * holds (`conflicted`: its sessions are skipped too). An email held only by
 * users of the source, stored by an earlier run or added now, is the
 * original's legacy duplicate: kept.
 *
 * @example planUsers(users, { hasUser: (id) => tables.users.has(id), emailHolders: (e) => tables.emailHolders(e) }, sourceIds)
 */
export function planUsers(
  users: UserRecord[],
  held: HeldUsers,
  sourceIds: ReadonlySet<string>,
): { add: UserRecord[]; conflicted: Set<string>; counts: Counts } {
  const distinct = distinctUsers(users);
  const counts: Counts = { imported: 0, skipped: distinct.repeated };
  const add: UserRecord[] = [];
  const conflicted = new Set<string>();
  for (const u of distinct.users) {
    if (held.hasUser(u.id)) counts.skipped++;
    else if ([...held.emailHolders(u.email)].some((id) => !sourceIds.has(id))) {
      // The store already has this email (another user): never a second one.
      conflicted.add(u.id);
      counts.skipped++;
    } else {
      add.push(u);
      counts.imported++;
    }
  }
  return { add, conflicted, counts };
}

/**
 * Which sessions an import adds, in order, each with its end (ms; null: no
 * limit): not one whose token hash is stored or repeated, nor one of a user
 * skipped for its email, nor (for a store that asks) one of a user not
 * stored, nor, given `expiry`, one already past its lifetime (counted from
 * its `created_at` and last use, as it would have ended in the original),
 * which could never be used.
 *
 * @example planSessions(sessions, { hasSession: () => false }, conflicted, { lifetime, now: Date.now() })
 */
export function planSessions(
  sessions: SessionRecord[],
  held: HeldSessions,
  conflicted: ReadonlySet<string>,
  expiry?: { lifetime: SessionLifetime; now: number },
): { add: { session: SessionRecord; end: number | null }[]; counts: Counts } {
  const counts: Counts = { imported: 0, skipped: 0 };
  const seen = new Set<string>();
  const add: { session: SessionRecord; end: number | null }[] = [];
  for (const session of sessions) {
    const end = expiry ? sessionEnd(session, expiry.lifetime) : null;
    if (
      seen.has(session.session_id) || held.hasSession(session.session_id) || conflicted.has(session.user_id) ||
      (held.hasUser && !held.hasUser(session.user_id)) || (expiry && end !== null && end < expiry.now)
    ) counts.skipped++;
    else {
      seen.add(session.session_id);
      add.push({ session, end });
      counts.imported++;
    }
  }
  return { add, counts };
}
