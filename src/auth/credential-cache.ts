import { keyedHmacSha256, toHex } from "../lib/sha256.ts";
import type { UserRecord } from "../domain/records.ts";
import { BoundedMap } from "../lib/bounded-map.ts";

export type CredentialCacheOptions = {
  maxEntries: number;
  maxAgeMs: number;
  now: () => number;
};

type Entry = { userId: string; email: string | null; passwordHash: string; updatedAt: string; secondFactor: boolean; expiresAt: number };

/**
 * Remembers successful Basic-auth verifications, so a Basic client does not
 * pay a 600k-iteration PBKDF2 on every request.
 *
 * - Keys are HMAC-SHA256 of the presented credentials under a random key of
 *   this process: neither the password nor an offline-crackable hash of it
 *   is kept, and the key dies with the process.
 * - An entry is only valid while the user's stored hash, email and
 *   `updated_at` are the ones it was verified against: a password or email
 *   change, a re-hash, or a second factor turned on (which moves
 *   `updated_at`) invalidates it in every process, and a deleted user is
 *   simply not found.
 * - Bounded in size (oldest out first) and age. Failures are never cached.
 */
export function createCredentialCache({ maxEntries, maxAgeMs, now }: CredentialCacheOptions) {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const entries = new BoundedMap<string, Entry>(maxEntries);
  const mac = keyedHmacSha256(key);
  const keyOf = (credentials: string) => toHex(mac(credentials));

  return {
    /** The user id a cached verification of `credentials` vouches for, if any. */
    lookup(credentials: string): { id: string; secondFactor: boolean; check: (current: UserRecord) => boolean } | null {
      const k = keyOf(credentials);
      const e = entries.get(k);
      if (!e) return null;
      if (e.expiresAt <= now()) {
        entries.delete(k);
        return null;
      }
      return {
        id: e.userId,
        secondFactor: e.secondFactor,
        check: (current) => {
          const same = current._password === e.passwordHash && current.email === e.email && current.updated_at === e.updatedAt;
          if (same) return true;
          entries.delete(k);
          return false;
        },
      };
    },
    /**
     * Records a successful verification of `credentials` for `user` (whose
     * `_password` is set), and whether the user has a second factor (then
     * Basic is refused without another hash).
     */
    remember(credentials: string, user: UserRecord, secondFactor = false): void {
      const k = keyOf(credentials);
      const entry = { userId: user.id, email: user.email, passwordHash: user._password ?? "", updatedAt: user.updated_at, secondFactor };
      entries.set(k, { ...entry, expiresAt: now() + maxAgeMs });
    },
    get size() {
      return entries.size;
    },
  };
}

export type CredentialCache = ReturnType<typeof createCredentialCache>;
