import type { SessionRecord, UserRecord } from "../domain/types.ts";
import { formatTimestamp, parseTimestamp } from "../domain/types.ts";
import type { SessionStore } from "./session-store.ts";
import { hashToken, newToken } from "./tokens.ts";

export type SessionManagerOptions = {
  store: SessionStore;
  /** Seconds a session lives from its creation; 0: forever. */
  durationSeconds: number;
  now: () => number;
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
};

const TOKEN_SHAPE = /^[A-Za-z0-9_\-]{1,512}$/;

/**
 * Session policy (never expires, or absolute `durationSeconds` from
 * creation) over a store (memory or storage). Policy and store are
 * independent, which is all the original's `SessionAuth` /
 * `SessionExpAuth` / `SessionDBAuth` class chain expressed.
 */
export function createSessionManager({ store, durationSeconds, now }: SessionManagerOptions): SessionManager {
  // Exact creation times of the sessions this process made; the stored
  // timestamp has whole seconds only (the original's format), which would
  // cut up to a second off a session's life.
  const createdMs = new Map<string, number>();
  // Which user each recently seen session belongs to. A session's user never
  // changes, so this cannot go stale; it lets a store read the session and
  // its user in one round trip. Bounded: oldest out first.
  const userOf = new Map<string, string>();
  const remember = (h: string, userId: string) => {
    userOf.delete(h);
    userOf.set(h, userId);
    if (userOf.size > 100_000) userOf.delete(userOf.keys().next().value as string);
  };
  const forget = (h: string) => {
    createdMs.delete(h);
    userOf.delete(h);
  };

  function expired(s: SessionRecord): boolean {
    if (durationSeconds <= 0) return false;
    const created = createdMs.get(s.session_id) ?? parseTimestamp(s.created_at);
    // A malformed timestamp cannot prove the session is young: treat it as expired.
    if (Number.isNaN(created)) return true;
    return created + durationSeconds * 1000 < now();
  }

  return {
    async create(userId) {
      const token = newToken();
      const t = now();
      const ts = formatTimestamp(t);
      const session: SessionRecord = { id: crypto.randomUUID(), created_at: ts, updated_at: ts, user_id: userId, session_id: hashToken(token) };
      await store.create(session, durationSeconds);
      createdMs.set(session.session_id, t);
      remember(session.session_id, userId);
      return token;
    },
    async resolve(token) {
      // Tokens we issue are base64url; legacy ones are UUIDs. Anything else
      // cannot be a session, so it is not even hashed.
      if (!TOKEN_SHAPE.test(token)) return null;
      const h = hashToken(token);
      const hint = userOf.get(h);
      if (hint !== undefined && store.getWithUser) {
        const { session, user } = await store.getWithUser(h, hint);
        if (!session || expired(session)) {
          forget(h);
          return null;
        }
        if (session.user_id === hint) return { userId: hint, user };
      }
      const s = await store.get(h);
      if (!s || expired(s)) {
        forget(h);
        return null;
      }
      remember(h, s.user_id);
      return { userId: s.user_id };
    },
    async destroy(token) {
      if (!TOKEN_SHAPE.test(token)) return false;
      const h = hashToken(token);
      const s = await store.get(h);
      if (!s || expired(s)) return false;
      forget(h);
      return store.delete(h);
    },
    async endAllFor(userId) {
      await store.deleteForUser(userId);
    },
  };
}
