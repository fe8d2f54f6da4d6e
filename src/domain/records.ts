/**
 * Records as they are stored, in the original project's file format, and
 * the one place that checks their shape.
 *
 * Key order matters: `.db_User.json` written by the original lists a user's
 * attributes in this order, and we write them back the same way.
 */
export type UserRecord = {
  id: string;
  created_at: string;
  updated_at: string;
  email: string | null;
  /** Self-describing PBKDF2 string, a legacy SHA-256 hex digest, or null (can never log in). */
  _password: string | null;
  first_name: string | null;
  last_name: string | null;
};

/**
 * A stored session. `session_id` holds the hex SHA-256 of the cookie token,
 * never the token itself, so a copy of the data cannot be replayed.
 */
export type SessionRecord = {
  id: string;
  created_at: string;
  updated_at: string;
  user_id: string;
  session_id: string;
  /**
   * When the session was last used (to the minute); absent in the
   * original's data, where it counts as `created_at`. The fields below are
   * ours: the original ignores them, so its data files stay loadable both ways.
   */
  last_seen_at?: string;
  /** The client address of the login. */
  ip?: string | null;
  /** The login's `User-Agent`, cut to 256 characters. */
  user_agent?: string | null;
};

/** The public JSON of a user: keys in the order the original's `jsonify` sorts them. */
export type UserJson = {
  created_at: string;
  email: string | null;
  first_name: string | null;
  id: string;
  last_name: string | null;
  updated_at: string;
};

/** The public JSON of a user: no password hash, keys in the original's order. */
export function toUserJson(u: UserRecord): UserJson {
  return {
    created_at: u.created_at,
    email: u.email,
    first_name: u.first_name,
    id: u.id,
    last_name: u.last_name,
    updated_at: u.updated_at,
  };
}

/** Naive UTC `YYYY-MM-DDTHH:MM:SS`, the original's timestamp format. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** Parses a naive UTC timestamp of the original (fractional seconds tolerated); NaN when malformed. */
export function parseTimestamp(s: unknown): number {
  if (typeof s !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(s)) return NaN;
  return Date.parse(s + "Z");
}

/** How long sessions live, in seconds; 0: no limit. */
export type SessionLifetime = {
  /** From creation (SESSION_DURATION). */
  absolute: number;
  /** From the last use (SESSION_IDLE_TIMEOUT). */
  idle: number;
};

/**
 * When a stored session ends, in ms since the epoch, under `lifetime`: the
 * earlier of its absolute end (from `created_at`) and its idle end (from
 * `last_seen_at`, or `created_at` for a session never touched); null when
 * neither limit is set. A timestamp that does not parse cannot prove the
 * session young: it has ended (0).
 */
export function sessionEnd(s: SessionRecord, lifetime: SessionLifetime): number | null {
  let end: number | null = null;
  if (lifetime.absolute > 0) end = parseTimestamp(s.created_at) + lifetime.absolute * 1000;
  if (lifetime.idle > 0) {
    const idleEnd = parseTimestamp(s.last_seen_at ?? s.created_at) + lifetime.idle * 1000;
    end = end === null ? idleEnd : Math.min(end, idleEnd);
  }
  return end !== null && Number.isNaN(end) ? 0 : end;
}

const str = (v: unknown): v is string => typeof v === "string";
const strOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const USER_KEYS = ["id", "created_at", "updated_at", "email", "_password", "first_name", "last_name"];

/**
 * A user record with exactly the stored fields, in the files' key order,
 * or null when `o` does not have that shape. The one check every place
 * that reads records back uses (the journal, Deno KV, imports): a record
 * written by something else (a newer version?) is refused, not half-loaded.
 */
export function userRecord(o: Record<string, unknown>): UserRecord | null {
  return hasUserFields(o) ? canonicalUser(o) : null;
}

/** A copy of a user with exactly the stored fields, in the files' key order (extra properties dropped). */
export function canonicalUser(u: UserRecord): UserRecord {
  const { id, created_at, updated_at, email, _password, first_name, last_name } = u;
  return { id, created_at, updated_at, email, _password, first_name, last_name };
}

function hasUserFields(o: Record<string, unknown>): o is UserRecord {
  return str(o.id) && str(o.created_at) && str(o.updated_at) && strOrNull(o.email) && strOrNull(o._password) &&
    strOrNull(o.first_name) && strOrNull(o.last_name);
}

/**
 * True when `o` already is a user record with its keys in order: it can be
 * used as it is, without a copy. That is every record we wrote and nearly
 * every one of the original's; skipping the copy saves a third of the
 * startup time at 100k users.
 */
export function isCanonicalUser(o: Record<string, unknown>): o is UserRecord {
  let i = 0;
  for (const k in o) if (k !== USER_KEYS[i++]) return false;
  return i === USER_KEYS.length && hasUserFields(o);
}

/** A session record with exactly the stored fields, or null (see `userRecord`). */
export function sessionRecord(o: Record<string, unknown>): SessionRecord | null {
  const { id, created_at, updated_at, user_id, session_id, last_seen_at, ip, user_agent } = o;
  if (!str(id) || !str(created_at) || !str(updated_at) || !str(user_id) || !str(session_id)) return null;
  if ((last_seen_at !== undefined && !str(last_seen_at)) || (ip !== undefined && !strOrNull(ip))) return null;
  if (user_agent !== undefined && !strOrNull(user_agent)) return null;
  return canonicalSession({ id, created_at, updated_at, user_id, session_id, last_seen_at, ip, user_agent });
}

/** A copy of a session with exactly the stored fields, in order (the optional ones only when set). */
export function canonicalSession(s: SessionRecord): SessionRecord {
  const { id, created_at, updated_at, user_id, session_id, last_seen_at, ip, user_agent } = s;
  const out: SessionRecord = { id, created_at, updated_at, user_id, session_id };
  if (last_seen_at !== undefined) out.last_seen_at = last_seen_at;
  if (ip !== undefined) out.ip = ip;
  if (user_agent !== undefined) out.user_agent = user_agent;
  return out;
}
