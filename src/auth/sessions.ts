import { formatTimestamp, parseTimestamp, type SessionLifetime, type SessionRecord, type UserRecord } from "../domain/records.ts";
import { BoundedMap } from "../lib/bounded-map.ts";
import type { SessionStore } from "./session-store.ts";
import { hashToken, newToken } from "./tokens.ts";

export type SessionManagerOptions = {
  store: SessionStore;
  /** How long a session lives from its creation and from its last use (0: no limit). */
  lifetime: SessionLifetime;
  now: () => number;
  /** Live sessions one user may hold; a new login past it ends the oldest. */
  maxPerUser: number;
};

/** Who logs in: kept with the session, shown in the list of a user's sessions. */
export type LoginContext = { ip: string | null; userAgent: string | null };

/** A live session as it is resolved for a request. */
export type Resolved = {
  userId: string;
  /** The user record, when the store read it together with the session. */
  user?: UserRecord | null;
  /** The session record's id (never its token or hash). */
  sessionId: string;
  tokenHash: string;
};

/** A session as its owner sees it in the list of their sessions. */
export type SessionView = {
  id: string;
  created_at: string;
  last_seen_at: string;
  /** When it ends at the latest if unused (absolute and idle limits), naive UTC; null: no limit. */
  expires_at: string | null;
  ip: string | null;
  user_agent: string | null;
};

/** The sessions of every auth type that has them (see createSessionManager). */
export type SessionManager = {
  /** The limits sessions live under. */
  readonly lifetime: SessionLifetime;
  /** Starts a session for a user; returns the token for the cookie. */
  create(userId: string, login: LoginContext): Promise<{ token: string; expiresAt: number | null }>;
  /** The live session of a token, or null (unknown, expired, malformed). Records a use, at most once a minute. */
  resolve(token: string): Promise<Resolved | null>;
  /** Ends a session; false when it was not live. */
  destroy(token: string): Promise<boolean>;
  /** A user's live sessions, newest first. */
  list(userId: string): Promise<(SessionView & { tokenHash: string })[]>;
  /** Ends one of a user's sessions by its record id; false when the user has no such live session. */
  endById(userId: string, sessionId: string): Promise<boolean>;
  /** Ends every session of a user but one (by token hash; null: all); returns how many ended. */
  endOthers(userId: string, keepTokenHash: string | null): Promise<number>;
  /** Ends every session of a user whose account was deleted (sessions outside the storage). */
  endAllFor(userId: string): Promise<void>;
  /** Deletes expired sessions from the store (run in the background, and at a clean stop). */
  sweep(): Promise<number>;
};

/** What a process knows of a session it has seen (see createSessionManager). */
type KnownSession = {
  userId: string;
  createdMs?: number;
  seenMs?: number;
  writtenMs?: number;
  /** The stored last use as text, and parsed. */
  storedSeen?: string;
  storedSeenMs?: number;
};

const TOKEN_SHAPE = /^[A-Za-z0-9_\-]{1,512}$/;
const USER_AGENT_MAX = 256;

/**
 * Sessions: a policy (an absolute lifetime from login, an idle lifetime
 * from the last use, both optional) over a store (process memory or the
 * storage). Policy and store are independent, which is all the original's
 * `SessionAuth` / `SessionExpAuth` / `SessionDBAuth` class chain expressed.
 *
 * A use is written to the store at most once a minute per session, or once
 * per tenth of the idle lifetime when that is shorter: the idle window
 * slides without a write on every request (the hot path stays one read).
 * Both limits are checked on every read.
 */
export function createSessionManager({ store, lifetime, now, maxPerUser }: SessionManagerOptions): SessionManager {
  const touchEvery = Math.min(60_000, lifetime.idle > 0 ? (lifetime.idle * 1000) / 10 : 60_000);
  // What this process knows of recent sessions, by token hash, bounded:
  // - the user: a session's user never changes, so this cannot go stale, and
  //   it lets a store read the session and its user in one round trip;
  // - exact times of sessions made or used here: stored timestamps have
  //   whole seconds only (the original's format), and the last use is only
  //   written now and then.
  const known = new BoundedMap<string, KnownSession>(100_000);

  const ms = (text: string | undefined) => (text === undefined ? NaN : parseTimestamp(text));
  /** The stored last use in ms, parsed once per stored value (it changes at most once a minute). */
  function storedSeen(s: SessionRecord, k: KnownSession | undefined): number {
    const text = s.last_seen_at ?? s.created_at;
    if (k?.storedSeen === text) return k.storedSeenMs!;
    const parsed = ms(text);
    if (k) (k.storedSeen = text), (k.storedSeenMs = parsed);
    return parsed;
  }
  const unlimited = !(lifetime.absolute > 0) && !(lifetime.idle > 0);
  function endOf(s: SessionRecord): number | null {
    if (unlimited) return null; // nothing to parse on the hot path
    const k = known.get(s.session_id);
    const created = k?.createdMs ?? ms(s.created_at);
    const seen = Math.max(k?.seenMs ?? -Infinity, storedSeen(s, k));
    let end: number | null = null;
    if (lifetime.absolute > 0) end = created + lifetime.absolute * 1000;
    if (lifetime.idle > 0) end = Math.min(end ?? Infinity, seen + lifetime.idle * 1000);
    // A timestamp that does not parse cannot prove the session young.
    return end !== null && Number.isNaN(end) ? 0 : end;
  }
  // A session is live through its last millisecond (the original: `created + duration < now` is expired).
  const expired = (s: SessionRecord) => {
    const end = endOf(s);
    return end !== null && end < now();
  };

  /** Records a use: always in memory, in the store when its last write there is old enough. */
  async function used(s: SessionRecord): Promise<void> {
    const t = now();
    let k = known.get(s.session_id);
    if (!k) known.set(s.session_id, k = { userId: s.user_id });
    k.seenMs = Math.max(k.seenMs ?? 0, t);
    const written = Math.max(k.writtenMs ?? -Infinity, storedSeen(s, k));
    if (!(t - written >= touchEvery)) return;
    k.writtenMs = t;
    const touched = { ...s, last_seen_at: formatTimestamp(t) };
    await store.touch(s.session_id, touched.last_seen_at, endOf(touched));
  }

  function view(s: SessionRecord): SessionView & { tokenHash: string } {
    const k = known.get(s.session_id);
    const seen = Math.max(k?.seenMs ?? -Infinity, ms(s.last_seen_at ?? s.created_at));
    const end = endOf(s);
    return {
      id: s.id,
      created_at: s.created_at,
      last_seen_at: Number.isFinite(seen) ? formatTimestamp(seen) : s.created_at,
      expires_at: end === null ? null : formatTimestamp(end),
      ip: s.ip ?? null,
      user_agent: s.user_agent ?? null,
      tokenHash: s.session_id,
    };
  }

  async function live(userId: string): Promise<SessionRecord[]> {
    return (await store.listForUser(userId)).filter((s) => !expired(s));
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
      const t = known.get(s.session_id)?.createdMs ?? ms(s.created_at);
      return Number.isNaN(t) ? 0 : t;
    };
    mine.sort((a, b) => age(a) - age(b));
    for (const s of mine.slice(0, mine.length - maxPerUser)) {
      known.delete(s.session_id);
      await store.delete(s.session_id);
    }
  }

  return {
    lifetime,
    async create(userId, login) {
      const token = newToken();
      const t = now();
      const ts = formatTimestamp(t);
      const session: SessionRecord = {
        id: crypto.randomUUID(),
        created_at: ts,
        updated_at: ts,
        user_id: userId,
        session_id: hashToken(token),
        last_seen_at: ts,
        ip: login.ip,
        user_agent: login.userAgent === null ? null : login.userAgent.slice(0, USER_AGENT_MAX),
      };
      known.set(session.session_id, { userId, createdMs: t, seenMs: t, writtenMs: t });
      const expiresAt = endOf(session);
      await store.create(session, expiresAt);
      await endOldest(userId);
      return { token, expiresAt };
    },
    async resolve(token) {
      // Tokens we issue are base64url; legacy ones are UUIDs. Anything else
      // cannot be a session, so it is not even hashed.
      if (!TOKEN_SHAPE.test(token)) return null;
      const h = hashToken(token);
      const hint = store.getWithUser ? known.get(h)?.userId : undefined;
      let session: SessionRecord | null;
      let user: UserRecord | null | undefined;
      if (hint !== undefined) ({ session, user } = await store.getWithUser!(h, hint));
      else session = await store.get(h);
      if (session && user !== undefined && session.user_id !== hint) user = undefined;
      if (!session || expired(session)) {
        known.delete(h);
        return null;
      }
      await used(session);
      return { userId: session.user_id, user, sessionId: session.id, tokenHash: h };
    },
    async destroy(token) {
      if (!TOKEN_SHAPE.test(token)) return false;
      const h = hashToken(token);
      const s = await store.get(h);
      if (!s || expired(s)) return false;
      known.delete(h);
      return store.delete(h);
    },
    async list(userId) {
      const views = (await live(userId)).map(view);
      return views.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    },
    async endById(userId, sessionId) {
      const s = (await live(userId)).find((x) => x.id === sessionId);
      if (!s) return false;
      known.delete(s.session_id);
      return store.delete(s.session_id);
    },
    async endOthers(userId, keep) {
      return await store.deleteOthers(userId, keep);
    },
    async endAllFor(userId) {
      await store.deleteForUser(userId);
    },
    sweep: () => store.deleteExpired(lifetime, now()),
  };
}
