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

/**
 * Words of this service's own name (package `session-auth-api`, the
 * original's "Session authentication"): the first a guesser tries against
 * it (NIST SP 800-63B 5.1.1.2, context-specific words). "auth" alone is
 * left out: it is inside too many good passwords (author, authentic).
 */
export const SERVICE_WORDS = ["session", "authentication"] as const;

/**
 * Runs guessers try first: the alphabet, digits (also across 0), keyboard
 * rows (QWERTY, AZERTY, QWERTZ). A password wholly inside one, forwards or
 * backwards, is a sequence.
 */
const SEQUENCES = [
  "abcdefghijklmnopqrstuvwxyz",
  "01234567890123456789",
  "qwertyuiopasdfghjklzxcvbnm",
  "azertyuiopqsdfghjklmwxcvbn",
  "qwertzuiopasdfghjklyxcvbnm",
  "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
];
const BACKWARDS = SEQUENCES.map((s) => [...s].reverse().join(""));
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `text` holds half of a UTF-16 surrogate pair alone: not text (it has no UTF-8 form; JSON `"\ud800"` makes one). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * What makes `password` trivially guessable by its form, or null: the
 * examples of NIST SP 800-63B 5.1.1.2 (repetitive: `aaaaaaaa`, `abcabcab`;
 * sequential: `abcdefgh`, `12345678`, `qwertyui`) and the service's own
 * name. The list of common passwords and the email's name are the repo's checks.
 */
export function passwordFormProblem(password: string): string | null {
  const chars = [...password.toLowerCase()];
  // A block of up to 4 characters repeated at least twice makes the whole password.
  for (let k = 1; k <= 4 && 2 * k <= chars.length; k++) {
    if (chars.every((c, i) => c === chars[i % k])) return "password repeats one character or a short block (like aaaaaaaa or abcabcab)";
  }
  const lower = chars.join("");
  if (lower.length >= 3) {
    // Consecutive code points (any script, either direction) or a known run.
    const step = chars.length > 1 ? chars[1].codePointAt(0)! - chars[0].codePointAt(0)! : 0;
    const steady = (step === 1 || step === -1) &&
      chars.every((c, i) => i === 0 || c.codePointAt(0)! - chars[i - 1].codePointAt(0)! === step);
    if (steady || SEQUENCES.some((s) => s.includes(lower)) || BACKWARDS.some((s) => s.includes(lower))) {
      return "password is a sequence (like abcdefgh, 12345678 or qwertyui)";
    }
  }
  if (SERVICE_WORDS.some((w) => lower.includes(w))) return "password contains the service's name";
  return null;
}
