import { sha256 } from "../../lib/sha256.ts";
import { canonicalSession, type SessionRecord, type UserRecord } from "../../domain/records.ts";
import type { KvKey } from "./types.ts";
import type { Mutation } from "./store.ts";

/**
 * The key layout of the Deno KV store. Every value is UTF-8 JSON bytes.
 *
 * | key                                  | value                                |
 * | ------------------------------------ | ------------------------------------ |
 * | ["users_meta"]                       | {next_seq, count}                    |
 * | ["users", id]                        | {seq, user}: the record and its place in storage order |
 * | ["email", lower-cased email]         | [[seq, id], ...] sorted by seq       |
 * | ["sessions", token hash]             | {expires_at, session}                |
 * | ["user_sessions", user id, token hash] | 1 (index for deleteUser)           |
 * | ["user_sessions_v", user id]         | ms of the user's last new session    |
 * | ["accounts", user id]                | the user's account record (accounts.ts) |
 *
 * Storage order: each user gets `seq` from `users_meta.next_seq` in the same
 * atomic operation that creates it, so seq follows commit order across every
 * process sharing the store, is unique, and never changes (updates keep it).
 * listUsers reads ["users"] and sorts by seq; imports take consecutive seqs in
 * input order.
 *
 * The one rule that makes cross-key invariants hold with few checks (the
 * SQLite backend of @deno/kv allows only 10 checks per atomic operation):
 * every operation that creates or deletes a user, or writes an ["email"]
 * entry, also rewrites ["users_meta"] and checks its versionstamp. A commit
 * whose meta check passes therefore knows that no user appeared or vanished
 * and no email entry changed since it read them; updates that keep the email
 * only check their own ["users", id].
 *
 * The email index holds a list because data imported from the original may
 * have several users with one email (compared case-insensitively); the list
 * is in storage order, so findUserByEmail returns the first user whose email
 * matches exactly, like the original's `User.search`. createUser only
 * succeeds while the entry is absent, so new duplicates cannot appear. (A KV
 * value holds 64 KiB: about 1,400 legacy users could share one email.)
 */

export type Meta = { next_seq: number; count: number };
export type StoredUser = { seq: number; user: UserRecord };
export type EmailIds = [seq: number, id: string][];
/** `expires_at` in ms since the epoch, null for a session without expiry. */
export type StoredSession = { expires_at: number | null; session: SessionRecord };

export const META_KEY: KvKey = ["users_meta"];
export const EMPTY_META: Meta = { next_seq: 1, count: 0 };

/** The key of a user record (see the table above). */
export const userKey = (id: string): KvKey => ["users", id];
/** The key of a session, by the hash of its token. */
export const sessionKey = (hash: string): KvKey => ["sessions", hash];
/** The index entry of one of a user's sessions, for ending them all with the user. */
export const userSessionKey = (userId: string, hash: string): KvKey => ["user_sessions", userId, hash];
/** The key of a user's account record (written only with its user's record checked present). */
export const accountKey = (userId: string): KvKey => ["accounts", userId];
/**
 * Rewritten by every session creation and checked by deleteUser: a deletion
 * that listed a user's sessions before a concurrent login added one fails
 * its check and lists them again, so no session outlives its user.
 */
export const userSessionsVersionKey = (userId: string): KvKey => ["user_sessions_v", userId];

/**
 * The index key of an email. A KV key is limited to 2 KiB, so a very long
 * email is indexed by its SHA-256 digest instead; a byte-array key part can
 * never equal a string part, so the two forms cannot collide.
 */
export function emailKey(email: string | null): KvKey {
  const lower = (email ?? "").toLowerCase();
  return lower.length <= 512 ? ["email", lower] : ["email", sha256(lower)];
}

/** Whether two keys are equal part by part (byte-array parts by content). */
export function sameKey(a: KvKey, b: KvKey): boolean {
  return a.length === b.length &&
    a.every((p, i) => (p instanceof Uint8Array && b[i] instanceof Uint8Array ? p.join() === (b[i] as Uint8Array).join() : p === b[i]));
}

/**
 * Whether an id or token hash can be part of a key. Longer ones (say from a
 * crafted URL) cannot name anything stored, so lookups answer "not found"
 * without asking KV, which would reject the key as too large.
 */
export const keyable = (s: string): boolean => s.length <= 512;

/** Inserts [seq, id] keeping the list sorted by seq (storage order). */
export function withId(list: EmailIds | null, seq: number, id: string): EmailIds {
  const out = (list ?? []).filter(([, i]) => i !== id);
  let at = out.length;
  while (at > 0 && out[at - 1][0] > seq) at--;
  out.splice(at, 0, [seq, id]);
  return out;
}

/**
 * The two writes that store a session: the record and its entry in the
 * user's session index. Both get the same `expireIn`, so KV eventually drops
 * them together; `expireIn` only promises the earliest deletion, which is why
 * `expires_at` is also kept in the value and checked on every read.
 */
export function sessionWrites(s: SessionRecord, expiresAt: number | null, now: number): Mutation[] {
  const expireIn = expiresAt === null ? undefined : Math.max(1, Math.ceil(expiresAt - now));
  return [
    { key: sessionKey(s.session_id), value: { expires_at: expiresAt, session: canonicalSession(s) }, expireIn },
    { key: userSessionKey(s.user_id, s.session_id), value: 1, expireIn },
  ];
}
