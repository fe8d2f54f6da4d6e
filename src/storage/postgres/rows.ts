import type { SessionRecord, UserRecord } from "../../domain/records.ts";
import { sha256Hex } from "../../lib/sha256.ts";

/**
 * Rows of the tables (schema.ts) and the records of the domain, both ways.
 * Records come back with exactly the keys, key order and types the other
 * drivers give.
 */

/**
 * The case-insensitive key of an email: lower-cased as every driver does it
 * (a missing email counts as ""), a SHA-256 digest past 512 characters.
 * The digest form starts with a control character, which no email accepted
 * at sign-up holds, so the two forms do not meet.
 */
export function emailKey(email: string | null): string {
  const lower = (email ?? "").toLowerCase();
  return lower.length <= 512 ? lower : `\u0001sha256:${sha256Hex(lower)}`;
}

/** A `users` row as the queries select it. */
export type UserRow = {
  id: string;
  created_at: string;
  updated_at: string;
  email: string | null;
  password: string | null;
  first_name: string | null;
  last_name: string | null;
};

/** A user record from its row, keys in the files' order. */
export function toUser(r: UserRow): UserRecord {
  return {
    id: r.id,
    created_at: r.created_at,
    updated_at: r.updated_at,
    email: r.email,
    _password: r.password,
    first_name: r.first_name,
    last_name: r.last_name,
  };
}

/** A `sessions` row as the queries select it. */
export type SessionRow = {
  token_hash: string;
  id: string;
  user_id: string;
  created_at: string;
  updated_at: string;
  last_seen_at: string | null;
  ip: string | null;
  user_agent: string | null;
  has_ip: boolean;
  has_user_agent: boolean;
};

/**
 * A session record from its row. The optional fields are there only when
 * the record had them (an absent `ip` and a null one are different records,
 * hence `has_ip`), as `canonicalSession` keeps them.
 */
export function toSession(r: SessionRow): SessionRecord {
  const s: SessionRecord = { id: r.id, created_at: r.created_at, updated_at: r.updated_at, user_id: r.user_id, session_id: r.token_hash };
  if (r.last_seen_at !== null) s.last_seen_at = r.last_seen_at;
  if (r.has_ip) s.ip = r.ip;
  if (r.has_user_agent) s.user_agent = r.user_agent;
  return s;
}

/** `expires_at` as PostgreSQL takes it: a Date, or null for no limit. */
export const expiry = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
