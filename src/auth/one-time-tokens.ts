import type { AccountRecord, OneTimeToken, TokenPurpose } from "../domain/accounts.ts";
import { formatTimestamp, parseTimestamp } from "../domain/records.ts";
import { timingSafeEqualString } from "../lib/encoding.ts";
import { hashToken, newToken } from "./tokens.ts";

/**
 * The one-time tokens of every self-service flow (password reset, email
 * verification, email change): one module, so that no flow invents its own.
 *
 * A token is `<user id>.<secret>`: the secret is 256 bits from the CSPRNG
 * (base64url), and only its SHA-256 is stored, in the user's account record
 * (`AccountRecord.tokens`), with its purpose and expiry. The user id in
 * front says which record to look in, so no store needs a global index of
 * token hashes (one more table, kept in step with every account record);
 * it tells nothing secret (ids appear in every user JSON). A token is used
 * up inside one `StorageDriver.updateAccount` call, the store's atomic
 * read-change-write, so of two concurrent uses exactly one succeeds.
 */

/** A token and the record to store for it. */
export type IssuedToken = { token: string; record: OneTimeToken };

/** A token and its stored record, for `purpose`, valid for `ttlSeconds` from `now` (ms). */
export function issueToken(userId: string, purpose: TokenPurpose, email: string | null, now: number, ttlSeconds: number): IssuedToken {
  const secret = newToken();
  return {
    token: `${userId}.${secret}`,
    record: {
      purpose,
      hash: hashToken(secret),
      created_at: formatTimestamp(now),
      expires_at: formatTimestamp(now + ttlSeconds * 1000),
      email,
    },
  };
}

/** The user id and secret hash a token names, or null when it is not one of ours (any other value, no exception). */
export function readToken(token: unknown): { userId: string; hash: string } | null {
  if (typeof token !== "string" || token.length > 200) return null;
  const dot = token.lastIndexOf(".");
  const secret = token.slice(dot + 1);
  if (dot < 1 || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { userId: token.slice(0, dot), hash: hashToken(secret) };
}

/** The live token of `purpose` with `hash` in `account` at `now` (ms), or null. Compared in constant time. */
export function findToken(account: AccountRecord, purpose: TokenPurpose, hash: string, now: number): OneTimeToken | null {
  let found: OneTimeToken | null = null;
  for (const t of account.tokens) {
    // Every stored hash is compared, so the time does not tell which one matched.
    if (timingSafeEqualString(t.hash, hash) && t.purpose === purpose && parseTimestamp(t.expires_at) > now) found = t;
  }
  return found;
}

/**
 * The account after using up `used` (null: none), and dropping the expired
 * tokens on the way. A reset voids every other reset token too: one reset,
 * one new password.
 */
export function withoutToken(account: AccountRecord, used: OneTimeToken, now: number): AccountRecord {
  const voidAll = used.purpose === "reset";
  return {
    ...account,
    tokens: account.tokens.filter((t) => t !== used && !(voidAll && t.purpose === "reset") && parseTimestamp(t.expires_at) > now),
  };
}

/** How many live tokens of one purpose a user may hold: older ones give way (a user asking again and again). */
const MAX_PER_PURPOSE = 5;

/** The account with `record` added (the oldest of its purpose dropped past the limit, expired ones dropped). */
export function withToken(account: AccountRecord, record: OneTimeToken, now: number): AccountRecord {
  const live = account.tokens.filter((t) => parseTimestamp(t.expires_at) > now);
  const same = live.filter((t) => t.purpose === record.purpose);
  const dropped = new Set(same.slice(0, Math.max(0, same.length - MAX_PER_PURPOSE + 1)));
  return { ...account, tokens: [...live.filter((t) => !dropped.has(t)), record] };
}
