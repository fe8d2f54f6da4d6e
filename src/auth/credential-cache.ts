import { keyedHmacSha256, toHex } from "../lib/sha256.ts";
import type { UserRecord } from "../domain/records.ts";
import { BoundedMap } from "../lib/bounded-map.ts";

export type CredentialCacheOptions = {
  maxEntries: number;
  maxAgeMs: number;
  now: () => number;
};

type Entry = { userId: string; email: string | null; passwordHash: string; expiresAt: number };

/**
 * Remembers successful Basic-auth verifications, so a Basic client does not
 * pay a 600k-iteration PBKDF2 on every request.
 *
 * - Keys are HMAC-SHA256 of the presented credentials under a random key of
 *   this process: neither the password nor an offline-crackable hash of it
 *   is kept, and the key dies with the process.
 * - An entry is only valid while the user's stored hash and email are the
 *   ones it was verified against: a password or email change, or a re-hash,
 *   invalidates it, and a deleted user is simply not found.
 * - Bounded in size (oldest out first) and age. Failures are never cached.
 */
export function createCredentialCache({ maxEntries, maxAgeMs, now }: CredentialCacheOptions) {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const entries = new BoundedMap<string, Entry>(maxEntries);
  const mac = keyedHmacSha256(key);
  const keyOf = (credentials: string) => toHex(mac(credentials));

  return {
    /** The user id a cached verification of `credentials` vouches for, if any. */
    lookup(credentials: string): { id: string; check: (current: UserRecord) => boolean } | null {
      const k = keyOf(credentials);
      const e = entries.get(k);
      if (!e) return null;
      if (e.expiresAt <= now()) {
        entries.delete(k);
        return null;
      }
      return {
        id: e.userId,
        check: (current) => {
          if (current._password === e.passwordHash && current.email === e.email) return true;
          entries.delete(k);
          return false;
        },
      };
    },
    /** Records a successful verification of `credentials` for `user` (whose `_password` is set). */
    remember(credentials: string, user: UserRecord): void {
      const k = keyOf(credentials);
      entries.set(k, { userId: user.id, email: user.email, passwordHash: user._password ?? "", expiresAt: now() + maxAgeMs });
    },
    get size() {
      return entries.size;
    },
  };
}

export type CredentialCache = ReturnType<typeof createCredentialCache>;
