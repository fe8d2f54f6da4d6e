/**
 * Records as they are stored, in the original project's file format.
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

/**
 * When a stored session ends, in ms since the epoch, for a lifetime of
 * `absoluteSeconds` from its creation (0: never, null). A creation time
 * that does not parse cannot prove the session young: it has ended (0).
 */
export function sessionEnd(s: SessionRecord, absoluteSeconds: number): number | null {
  if (absoluteSeconds <= 0) return null;
  const created = parseTimestamp(s.created_at);
  return Number.isNaN(created) ? 0 : created + absoluteSeconds * 1000;
}
