import { sha256Hex } from "./sha256.ts";
import { createLimiter } from "./limiter.ts";
import { base64ToBytes, bytesToBase64, timingSafeEqual, timingSafeEqualString } from "./encoding.ts";

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

/**
 * At most this many PBKDF2 computations run at once; the others wait their
 * turn. Hashing is CPU-bound, so running more than there are cores buys no
 * throughput: it only crowds out the thread that answers every other request
 * (a login storm would stall `/status`), and on Node it fills the libuv pool
 * that file writes also need. One process-wide limit, like the cores it
 * shares; the entry file sets it from the cores this process may use.
 */
const hashing = createLimiter(2);

/** Sets how many PBKDF2 computations may run at once (at least 1). */
export function setHashConcurrency(n: number): void {
  hashing.resize(n);
}

function pbkdf2(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  return hashing.run(() => derive(password, salt, iterations));
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

/** Hashes a password for storage. */
export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, iterations);
  return `${PREFIX}$${iterations}$${bytesToBase64(salt)}$${bytesToBase64(hash)}`;
}

export type VerifyResult = { ok: boolean; needsRehash: boolean };

// A well-formed hash that no password matches: verifying against it costs
// the same PBKDF2 as a real check, so an unknown email or a user without a
// password takes as long as a wrong password and reveals nothing.
const dummy = (iterations: number) => `${PREFIX}$${iterations}$${bytesToBase64(new Uint8Array(16))}$${bytesToBase64(new Uint8Array(32))}`;

/**
 * Checks `password` against a stored hash string (null: no password, never
 * matches). Accepts the original's unsalted SHA-256 hex digests and reports
 * `needsRehash` for them (and for a lower iteration count) so the caller can
 * upgrade the stored hash after a successful check.
 */
export async function verifyPassword(password: string, stored: string | null, iterations = PBKDF2_ITERATIONS): Promise<VerifyResult> {
  if (stored !== null && LEGACY_SHA256.test(stored)) {
    // Still pay the PBKDF2 cost so timing does not tell legacy accounts apart.
    await verifyPbkdf2(password, dummy(iterations));
    const ok = timingSafeEqualString(sha256Hex(password), stored.toLowerCase());
    return { ok, needsRehash: ok };
  }
  if (stored === null || !stored.startsWith(PREFIX + "$")) {
    await verifyPbkdf2(password, dummy(iterations));
    return { ok: false, needsRehash: false };
  }
  const result = await verifyPbkdf2(password, stored);
  return { ok: result.ok, needsRehash: result.ok && result.iterations < iterations };
}

/** Burns one PBKDF2 computation: for logins of unknown emails. */
export async function dummyVerify(password: string, iterations = PBKDF2_ITERATIONS): Promise<void> {
  await verifyPbkdf2(password, dummy(iterations));
}

async function verifyPbkdf2(password: string, stored: string): Promise<{ ok: boolean; iterations: number }> {
  const [, iterText, saltText, hashText] = stored.split("$");
  const iterations = Number(iterText);
  const salt = base64ToBytes(saltText ?? "");
  const expected = base64ToBytes(hashText ?? "");
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000 || !salt || !expected) {
    return { ok: false, iterations: 0 };
  }
  const actual = await pbkdf2(password, salt, iterations);
  return { ok: timingSafeEqual(actual, expected), iterations };
}
