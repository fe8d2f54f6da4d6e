import type { SessionRecord } from "../domain/types.ts";
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
  /** The user id of a live session, or null (unknown, expired, malformed). */
  userIdFor(token: string): Promise<string | null>;
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
      return token;
    },
    async userIdFor(token) {
      // Tokens we issue are base64url; legacy ones are UUIDs. Anything else
      // cannot be a session, so it is not even hashed.
      if (!TOKEN_SHAPE.test(token)) return null;
      const h = hashToken(token);
      const s = await store.get(h);
      if (!s) return null;
      if (expired(s)) {
        createdMs.delete(h);
        return null;
      }
      return s.user_id;
    },
    async destroy(token) {
      if (!TOKEN_SHAPE.test(token)) return false;
      const h = hashToken(token);
      const s = await store.get(h);
      if (!s || expired(s)) return false;
      createdMs.delete(h);
      return store.delete(h);
    },
    async endAllFor(userId) {
      await store.deleteForUser(userId);
    },
  };
}
