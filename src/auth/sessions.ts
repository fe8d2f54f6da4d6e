import type { SessionRecord, UserRecord } from "../domain/records.ts";
import { formatTimestamp, parseTimestamp } from "../domain/records.ts";
import type { SessionStore } from "./session-store.ts";
import { hashToken, newToken } from "./tokens.ts";
import { BoundedMap } from "../lib/bounded-map.ts";

export type SessionManagerOptions = {
  store: SessionStore;
  /** Seconds a session lives from its creation; 0: forever. */
  durationSeconds: number;
  now: () => number;
  /** Live sessions one user may hold; a new login past it ends the oldest. */
  maxPerUser: number;
};

export type SessionManager = {
  /** Starts a session for a user; returns the token for the cookie. */
  create(userId: string): Promise<string>;
  /**
   * The user id of a live session, or null (unknown, expired, malformed);
   * with the user record too when the store could read both at once.
   */
  resolve(token: string): Promise<{ userId: string; user?: UserRecord | null } | null>;
  /** Ends a session; false when it was not live. */
  destroy(token: string): Promise<boolean>;
  endAllFor(userId: string): Promise<void>;
  /** Deletes expired sessions from the store (run in the background, and at a clean stop). */
  sweep(): Promise<number>;
};

const TOKEN_SHAPE = /^[A-Za-z0-9_\-]{1,512}$/;

/**
 * Session policy (never expires, or absolute `durationSeconds` from
 * creation) over a store (memory or storage). Policy and store are
 * independent, which is all the original's `SessionAuth` /
 * `SessionExpAuth` / `SessionDBAuth` class chain expressed.
 */
export function createSessionManager({ store, durationSeconds, now, maxPerUser }: SessionManagerOptions): SessionManager {
  // What this process knows of recent sessions, by token hash, bounded
  // (oldest out first):
  // - the user: a session's user never changes, so this cannot go stale, and
  //   it lets a store read the session and its user in one round trip;
  // - the exact creation time of sessions made here: the stored timestamp
  //   has whole seconds only (the original's format), which would cut up to
  //   a second off a session's life.
  const known = new BoundedMap<string, { userId: string; createdMs?: number }>(100_000);
  const remember = (h: string, userId: string, createdMs?: number) => void known.set(h, { userId, createdMs });

  function expired(s: SessionRecord): boolean {
    if (durationSeconds <= 0) return false;
    const created = known.get(s.session_id)?.createdMs ?? parseTimestamp(s.created_at);
    // A malformed timestamp cannot prove the session is young: treat it as expired.
    if (Number.isNaN(created)) return true;
    return created + durationSeconds * 1000 < now();
  }

  /**
   * Keeps a user within `maxPerUser` live sessions, ending the oldest: a
   * script logging in in a loop (or a stolen password used again and again)
   * cannot grow one account's sessions without bound.
   */
  async function endOldest(userId: string): Promise<void> {
    const mine = await store.listForUser(userId);
    if (mine.length <= maxPerUser) return;
    const age = (s: SessionRecord) => {
      const t = known.get(s.session_id)?.createdMs ?? parseTimestamp(s.created_at);
      return Number.isNaN(t) ? 0 : t;
    };
    mine.sort((a, b) => age(a) - age(b));
    for (const s of mine.slice(0, mine.length - maxPerUser)) {
      known.delete(s.session_id);
      await store.delete(s.session_id);
    }
  }

  return {
    async create(userId) {
      const token = newToken();
      const t = now();
      const ts = formatTimestamp(t);
      const session: SessionRecord = {
        id: crypto.randomUUID(),
        created_at: ts,
        updated_at: ts,
        user_id: userId,
        session_id: hashToken(token),
      };
      await store.create(session, durationSeconds);
      remember(session.session_id, userId, t);
      await endOldest(userId);
      return token;
    },
    async resolve(token) {
      // Tokens we issue are base64url; legacy ones are UUIDs. Anything else
      // cannot be a session, so it is not even hashed.
      if (!TOKEN_SHAPE.test(token)) return null;
      const h = hashToken(token);
      const hint = store.getWithUser ? known.get(h)?.userId : undefined;
      if (hint !== undefined) {
        const { session, user } = await store.getWithUser!(h, hint);
        if (!session || expired(session)) {
          known.delete(h);
          return null;
        }
        if (session.user_id === hint) return { userId: hint, user };
      }
      const s = await store.get(h);
      if (!s || expired(s)) {
        known.delete(h);
        return null;
      }
      // Only a store that can use the hint needs it remembered.
      if (store.getWithUser && !known.has(h)) remember(h, s.user_id);
      return { userId: s.user_id };
    },
    async destroy(token) {
      if (!TOKEN_SHAPE.test(token)) return false;
      const h = hashToken(token);
      const s = await store.get(h);
      if (!s || expired(s)) return false;
      known.delete(h);
      return store.delete(h);
    },
    async endAllFor(userId) {
      await store.deleteForUser(userId);
    },
    sweep: () => store.deleteExpired({ absolute: durationSeconds }, now()),
  };
}
