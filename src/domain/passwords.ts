/**
 * Hashing and checking passwords, as the rules see it: the auth layer
 * provides the implementation (PBKDF2 through Web Crypto, see
 * src/auth/password.ts) and the app hands it to whatever needs it, so that
 * the cost is chosen in one place (tests choose a cheap one).
 */
export interface PasswordHasher {
  /** A self-describing hash string to store. */
  hash(password: string): Promise<string>;
  /**
   * Checks `password` against a stored hash (null: no password, never
   * matches). `needsRehash`: it matched a weaker or legacy hash, which the
   * caller should replace with `hash(password)`.
   */
  verify(password: string, stored: string | null): Promise<{ ok: boolean; needsRehash: boolean }>;
  /** Costs what a `verify` costs and matches nothing: answering an unknown email in the same time. */
  burn(password: string): Promise<void>;
}
