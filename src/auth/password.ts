import type { PasswordHasher } from "../domain/passwords.ts";
import { base64ToBytes, bytesToBase64, timingSafeEqual, timingSafeEqualString } from "../lib/encoding.ts";
import { createLimiter } from "../lib/limiter.ts";
import { sha256Hex } from "../lib/sha256.ts";

/**
 * Password hashing: PBKDF2-HMAC-SHA256 through Web Crypto (available on Deno,
 * Bun and Node alike), 600,000 iterations (OWASP's 2023 figure for this
 * PRF), a 16-byte random salt, stored as one self-describing string in
 * Django's shape: `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`. The
 * iteration count travels with the hash, so raising it later only needs a
 * re-hash at the next login.
 */

export const PBKDF2_ITERATIONS = 600_000;
const PREFIX = "pbkdf2_sha256";
const LEGACY_SHA256 = /^[0-9a-fA-F]{64}$/;
const encoder = new TextEncoder();

export type PasswordHasherOptions = {
  /** PBKDF2 iterations of new hashes (and of the cost paid for unknown emails). Default 600,000. */
  iterations?: number;
  /**
   * PBKDF2 computations run at once; the others wait their turn. Hashing is
   * CPU-bound, so more than there are cores buys no throughput: it only
   * crowds out the thread that answers every other request (a login storm
   * would stall `/status`), and on Node it fills the libuv pool that file
   * writes also need. Default 2.
   */
  concurrency?: number;
};

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

/**
 * The PBKDF2 hasher. It also accepts the original's unsalted SHA-256 hex
 * digests and asks for a re-hash of those (and of hashes with fewer
 * iterations) after a successful check.
 *
 * @example const hasher = createPasswordHasher({ concurrency: 2 });
 *          const stored = await hasher.hash("H0lbertonSchool98!");
 *          (await hasher.verify("H0lbertonSchool98!", stored)).ok; // true
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const iterations = options.iterations ?? PBKDF2_ITERATIONS;
  const hashing = createLimiter(options.concurrency ?? 2);
  const pbkdf2 = (password: string, salt: Uint8Array<ArrayBuffer>, n: number) => hashing.run(() => derive(password, salt, n));
  // A well-formed hash that no password matches: checking against it costs
  // the same PBKDF2 as a real check, so an unknown email, a user without a
  // password or a legacy hash takes as long as a wrong password.
  const dummy = `${PREFIX}$${iterations}$${bytesToBase64(new Uint8Array(16))}$${bytesToBase64(new Uint8Array(32))}`;

  async function verifyPbkdf2(password: string, stored: string): Promise<{ ok: boolean; iterations: number }> {
    const [, iterText, saltText, hashText] = stored.split("$");
    const n = Number(iterText);
    const salt = base64ToBytes(saltText ?? "");
    const expected = base64ToBytes(hashText ?? "");
    if (!Number.isSafeInteger(n) || n < 1 || n > 10_000_000 || !salt || !expected) return { ok: false, iterations: 0 };
    return { ok: timingSafeEqual(await pbkdf2(password, salt, n), expected), iterations: n };
  }

  return {
    async hash(password) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      return `${PREFIX}$${iterations}$${bytesToBase64(salt)}$${bytesToBase64(await pbkdf2(password, salt, iterations))}`;
    },
    async verify(password, stored) {
      if (stored !== null && LEGACY_SHA256.test(stored)) {
        await verifyPbkdf2(password, dummy);
        const ok = timingSafeEqualString(sha256Hex(password), stored.toLowerCase());
        return { ok, needsRehash: ok };
      }
      if (stored === null || !stored.startsWith(PREFIX + "$")) {
        await verifyPbkdf2(password, dummy);
        return { ok: false, needsRehash: false };
      }
      const result = await verifyPbkdf2(password, stored);
      return { ok: result.ok, needsRehash: result.ok && result.iterations < iterations };
    },
    async burn(password) {
      await verifyPbkdf2(password, dummy);
    },
  };
}
