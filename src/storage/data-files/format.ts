import { StartupError } from "../../domain/errors.ts";
import { canonicalSession, isCanonicalUser, type SessionRecord, type UserRecord } from "../../domain/records.ts";
import { sha256Hex } from "../../lib/sha256.ts";

/**
 * Reading and writing the original project's data files, `.db_User.json`
 * and `.db_UserSession.json`: one JSON object keyed by object id, each entry
 * the object's attributes.
 */

export const USER_FILE = ".db_User.json";
export const SESSION_FILE = ".db_UserSession.json";

const HASHED_SESSION_ID = /^[0-9a-f]{64}$/;

function asNullableString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  // The original stores whatever JSON a client sent as a name; we keep it as text.
  return typeof v === "string" ? v : String(v);
}

/**
 * The text of a data file as the JSON object keyed by `keyedBy` it must be;
 * `file` names it in errors. Never repaired: a bad file stops startup.
 */
export function parseObject(text: string, file: string, keyedBy = "id"): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new StartupError(`Cannot parse ${file}: ${(e as Error).message}; the file was left untouched`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new StartupError(`Cannot load ${file}: expected a JSON object keyed by ${keyedBy}; the file was left untouched`);
  }
  return data as Record<string, unknown>;
}

function entryAt(data: Record<string, unknown>, key: string, file: string): Record<string, unknown> {
  const v = data[key];
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new StartupError(`Cannot load ${file}: entry "${key}" is not an object; the file was left untouched`);
  }
  return v as Record<string, unknown>;
}

/** Parses `.db_User.json` text into records in file order. `file` names it in errors. */
export function parseUsers(text: string, file: string, nowIso: string): UserRecord[] {
  const data = parseObject(text, file);
  const users: UserRecord[] = [];
  for (const key in data) {
    const o = entryAt(data, key, file);
    // Nearly every entry (every one we wrote) is used as it is, without a copy.
    if (isCanonicalUser(o)) {
      users.push(o);
      continue;
    }
    users.push({
      id: typeof o.id === "string" ? o.id : key,
      created_at: typeof o.created_at === "string" ? o.created_at : nowIso,
      updated_at: typeof o.updated_at === "string" ? o.updated_at : nowIso,
      email: asNullableString(o.email),
      _password: typeof o._password === "string" ? o._password : null,
      first_name: asNullableString(o.first_name),
      last_name: asNullableString(o.last_name),
    });
  }
  return users;
}

/**
 * Parses `.db_UserSession.json`. The original stored the cookie value itself
 * as `session_id`; such legacy entries are taken over with the value replaced
 * by its SHA-256, so existing cookies keep working and the data at rest no
 * longer holds replayable tokens. `legacy` counts them.
 */
export function parseSessions(text: string, file: string, nowIso: string): { sessions: SessionRecord[]; legacy: number } {
  let legacy = 0;
  const sessions: SessionRecord[] = [];
  const data = parseObject(text, file);
  for (const key in data) {
    const o = entryAt(data, key, file);
    if (typeof o.session_id !== "string" || typeof o.user_id !== "string" || o.session_id === "") continue;
    const hashed = HASHED_SESSION_ID.test(o.session_id);
    if (!hashed) legacy++;
    // Our extra fields (last use, client address, user agent) come along when
    // they are well-formed; the original's entries have none, and they default.
    const text = (v: unknown) => (typeof v === "string" ? v : undefined);
    const textOrNull = (v: unknown) => (typeof v === "string" || v === null ? v : undefined);
    sessions.push(canonicalSession({
      id: typeof o.id === "string" ? o.id : key,
      created_at: typeof o.created_at === "string" ? o.created_at : nowIso,
      updated_at: typeof o.updated_at === "string" ? o.updated_at : nowIso,
      user_id: o.user_id,
      session_id: hashed ? o.session_id : sha256Hex(o.session_id),
      last_seen_at: text(o.last_seen_at),
      ip: textOrNull(o.ip),
      user_agent: textOrNull(o.user_agent),
    }));
  }
  return { sessions, legacy };
}

/**
 * JSON the way Python's `json.dump` writes it (`", "` and `": "` separators,
 * non-ASCII escaped), so files at rest are byte-compatible with the original's.
 */
function pyJson(v: string | null): string {
  return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}

function serializeObjects(records: Iterable<Record<string, string | null | undefined>>): string {
  const parts: string[] = [];
  for (const r of records) {
    // An optional field that is not set is left out, as the original's entries have it.
    const fields = Object.entries(r).flatMap(([k, v]) => (v === undefined ? [] : [`${pyJson(k)}: ${pyJson(v)}`]));
    parts.push(`${pyJson(r.id ?? null)}: {${fields.join(", ")}}`);
  }
  return `{${parts.join(", ")}}`;
}

/** `.db_User.json` text for users in storage order. */
export function serializeUsers(users: Iterable<UserRecord>): string {
  return serializeObjects(users);
}

/** `.db_UserSession.json` text. */
export function serializeSessions(sessions: Iterable<SessionRecord>): string {
  return serializeObjects(sessions);
}
