import type { SessionRecord, UserRecord } from "../domain/types.ts";
import type { StorageDriver } from "../storage/types.ts";

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
  create(session: SessionRecord, ttlSeconds: number): Promise<void>;
  delete(tokenHash: string): Promise<boolean>;
  /** Ends every session of a user (its account was deleted). */
  deleteForUser(userId: string): Promise<void>;
}

/** Sessions in a Map of this process. */
export function createMemorySessionStore(): SessionStore {
  const sessions = new Map<string, SessionRecord>();
  const byUser = new Map<string, Set<string>>();
  return {
    get: (h) => Promise.resolve(sessions.get(h) ?? null),
    create(s) {
      sessions.set(s.session_id, s);
      let set = byUser.get(s.user_id);
      if (!set) byUser.set(s.user_id, (set = new Set()));
      set.add(s.session_id);
      return Promise.resolve();
    },
    delete(h) {
      const s = sessions.get(h);
      if (!s) return Promise.resolve(false);
      sessions.delete(h);
      byUser.get(s.user_id)?.delete(h);
      return Promise.resolve(true);
    },
    deleteForUser(userId) {
      for (const h of byUser.get(userId) ?? []) sessions.delete(h);
      byUser.delete(userId);
      return Promise.resolve();
    },
  };
}

/** Sessions in the storage driver (`session_db_auth`). */
export function createStorageSessionStore(driver: StorageDriver): SessionStore {
  return {
    get: (h) => driver.getSession(h),
    getWithUser: (h, hint) => driver.getSessionAndUser(h, hint),
    create: (s, ttl) => driver.createSession(s, ttl > 0 ? ttl : undefined),
    delete: (h) => driver.deleteSession(h),
    // The driver deletes a user's stored sessions in the same step as the user.
    deleteForUser: () => Promise.resolve(),
  };
}
