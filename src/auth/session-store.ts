import { UserGoneError } from "../domain/errors.ts";
import { sessionEnd, type SessionRecord, type UserRecord } from "../domain/records.ts";
import type { SessionLifetime, StorageDriver } from "../storage/driver.ts";

/**
 * Where sessions live: process memory (`session_auth`, `session_exp_auth`:
 * gone on restart, like the original's dict) or the configured storage
 * (`session_db_auth`: survives restarts, shared by every process on it).
 * Sessions are keyed by the hash of their token.
 */
export interface SessionStore {
  get(tokenHash: string): Promise<SessionRecord | null>;
  /** The session and the user `userIdHint` names, in one round trip (stores where reads are remote). */
  getWithUser?(tokenHash: string, userIdHint: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }>;
  /** Stores a session, ending at `expiresAt` (ms; null: no limit); `UserGoneError` when its user no longer exists. */
  create(session: SessionRecord, expiresAt: number | null): Promise<void>;
  /** Records a use of a session (its `last_seen_at`, and its end when an idle limit moves it). */
  touch(tokenHash: string, lastSeenAt: string, expiresAt: number | null): Promise<void>;
  /** Ends every session of a user but `keepTokenHash` (null: all); returns how many. */
  deleteOthers(userId: string, keepTokenHash: string | null): Promise<number>;
  delete(tokenHash: string): Promise<boolean>;
  /** Ends every session of a user (its account was deleted). */
  deleteForUser(userId: string): Promise<void>;
  listForUser(userId: string): Promise<SessionRecord[]>;
  /** Removes sessions past `lifetime`; returns how many. */
  deleteExpired(lifetime: SessionLifetime, now: number): Promise<number>;
}

/**
 * Sessions in a Map of this process. `userExists` is asked after each
 * creation: the users live elsewhere (the storage), so a login racing the
 * user's deletion is caught by checking once the session is in place (a
 * deletion that ran before the check has ended it, or the check sees the
 * user gone and ends it here).
 */
export function createMemorySessionStore(userExists: (id: string) => Promise<boolean>): SessionStore {
  const sessions = new Map<string, SessionRecord>();
  const byUser = new Map<string, Set<string>>();
  const remove = (h: string): boolean => {
    const s = sessions.get(h);
    if (!s) return false;
    sessions.delete(h);
    const set = byUser.get(s.user_id);
    set?.delete(h);
    if (set?.size === 0) byUser.delete(s.user_id);
    return true;
  };
  return {
    get: (h) => Promise.resolve(sessions.get(h) ?? null),
    async create(s) {
      sessions.set(s.session_id, s);
      let set = byUser.get(s.user_id);
      if (!set) byUser.set(s.user_id, set = new Set());
      set.add(s.session_id);
      if (!(await userExists(s.user_id))) {
        remove(s.session_id);
        throw new UserGoneError(s.user_id);
      }
    },
    touch(h, lastSeenAt) {
      const s = sessions.get(h);
      if (s) sessions.set(h, { ...s, last_seen_at: lastSeenAt });
      return Promise.resolve();
    },
    delete: (h) => Promise.resolve(remove(h)),
    deleteOthers(userId, keep) {
      let n = 0;
      for (const h of [...(byUser.get(userId) ?? [])]) if (h !== keep && remove(h)) n++;
      return Promise.resolve(n);
    },
    deleteForUser(userId) {
      for (const h of byUser.get(userId) ?? []) sessions.delete(h);
      byUser.delete(userId);
      return Promise.resolve();
    },
    listForUser: (userId) => Promise.resolve([...(byUser.get(userId) ?? [])].map((h) => sessions.get(h)!)),
    deleteExpired(lifetime, now) {
      let n = 0;
      for (const s of [...sessions.values()]) {
        const end = sessionEnd(s, lifetime);
        if (end !== null && end < now && remove(s.session_id)) n++;
      }
      return Promise.resolve(n);
    },
  };
}

/** Sessions in the storage driver (`session_db_auth`). */
export function createStorageSessionStore(driver: StorageDriver): SessionStore {
  return {
    get: (h) => driver.getSession(h),
    getWithUser: (h, hint) => driver.getSessionAndUser(h, hint),
    create: (s, expiresAt) => driver.createSession(s, expiresAt),
    touch: (h, lastSeenAt, expiresAt) => driver.touchSession(h, lastSeenAt, expiresAt),
    delete: (h) => driver.deleteSession(h),
    deleteOthers: (userId, keep) => driver.deleteUserSessions(userId, keep),
    // The driver deletes a user's stored sessions in the same step as the user.
    deleteForUser: () => Promise.resolve(),
    listForUser: (userId) => driver.listUserSessions(userId),
    deleteExpired: (lifetime, now) => driver.deleteExpiredSessions(lifetime, now),
  };
}
