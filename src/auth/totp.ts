import { Secret, TOTP } from "otpauth";
import { sha256Hex } from "../lib/sha256.ts";

/**
 * TOTP (RFC 6238) as authenticator apps speak it: SHA-1, 6 digits, 30 s,
 * through the `otpauth` library. A code is accepted one step early or late
 * (clock drift) and only once: the caller keeps the last accepted step per
 * user and passes it back, so a code seen over a shoulder or in a log cannot
 * be replayed within its window.
 */

export const TOTP_PERIOD_SECONDS = 30;

/** A new random secret (160 bits, RFC 4226's recommended length), base32 as apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

const totpOf = (secret: string, label = "", issuer = "") =>
  new TOTP({ issuer, label, algorithm: "SHA1", digits: 6, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secret) });

/** The `otpauth://` URL an app scans (as a QR code) to enrol. */
export function totpUrl(secret: string, account: string, issuer: string): string {
  return totpOf(secret, account, issuer).toString();
}

/**
 * The step (30 s period number) at which `code` is valid for `secret` at
 * `now`, within one step either way, and later than `lastStep`; null when
 * it is not (wrong, too old, or already used).
 */
export function acceptTotp(secret: string, code: string, now: number, lastStep: number | null): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(secret).validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  const step = Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) + delta;
  return lastStep !== null && step <= lastStep ? null : step;
}

/** The code of `secret` at `now` (for tests and the CLI's checks). */
export function totpCode(secret: string, now: number): string {
  return totpOf(secret).generate({ timestamp: now });
}

// Crockford-like alphabet without look-alikes (no 0/O, 1/I/L): codes are read off paper.
const ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";

/**
 * Ten single-use recovery codes (`xxxxx-xxxxx`, about 49 bits each) and
 * their hashes: the codes are shown once, only the hashes are stored. A
 * plain SHA-256 suffices for random codes of this length (nothing to
 * guess offline from a dictionary), and guessing online is throttled like
 * passwords.
 */
export function newRecoveryCodes(count = 10): { codes: string[]; hashes: string[] } {
  const codes: string[] = [];
  // Bytes past the last whole multiple of the alphabet's size are drawn again, so every character is equally likely.
  const limit = 256 - (256 % ALPHABET.length);
  for (let i = 0; i < count; i++) {
    let chars = "";
    while (chars.length < 10) {
      for (const b of crypto.getRandomValues(new Uint8Array(16))) {
        if (b < limit && chars.length < 10) chars += ALPHABET[b % ALPHABET.length];
      }
    }
    codes.push(`${chars.slice(0, 5)}-${chars.slice(5)}`);
  }
  return { codes, hashes: codes.map(recoveryCodeHash) };
}

/** The stored form of a recovery code as a user may type it (any case, with or without the dash or spaces). */
export function recoveryCodeHash(code: string): string {
  return sha256Hex(`recovery:${code.toLowerCase().replace(/[\s-]/g, "")}`);
}
