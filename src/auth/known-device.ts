import type { UserRecord } from "../domain/records.ts";
import { bytesToBase64Url, timingSafeEqualString } from "../lib/encoding.ts";
import { hmacSha256 } from "../lib/sha256.ts";

/**
 * The known-device cookie: proof that a browser logged in to an account
 * before, so that the account-wide limit on failed password checks (which
 * an attacker guessing from many addresses can use up) does not lock the
 * owner out. NIST SP 800-63B and OWASP both ask for a limit that cannot be
 * turned into a denial of service against the account's owner.
 *
 * The cookie holds one entry per account logged into from this browser (the
 * newest few): when it was issued and an HMAC of the account and that time.
 * The HMAC's key is the account's stored password hash, which every process
 * of the storage shares and no client knows: any server can check an entry,
 * nobody can forge one without the data, and a password change invalidates
 * every device at once (a new password is a new trust). Entries expire after
 * `MAX_AGE_DAYS`.
 */

const MAX_AGE_DAYS = 180;
const MAX_ENTRIES = 5;
const encoder = new TextEncoder();

function mac(user: UserRecord, issued: string): string {
  const key = encoder.encode(`known-device|${user._password ?? ""}`);
  return bytesToBase64Url(hmacSha256(key, `${user.id}|${issued}`).subarray(0, 16));
}

/** Entries of a cookie value, `<issued base36>.<mac>` joined by `~`; malformed ones are dropped. */
function entries(value: string | null): { issued: string; sig: string }[] {
  if (!value) return [];
  return value.split("~").slice(0, MAX_ENTRIES * 2).flatMap((entry) => {
    const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/.exec(entry);
    return m ? [{ issued: m[1], sig: m[2] }] : [];
  });
}

/**
 * The entry of `value` (the cookie) that proves an earlier login of `user`
 * from this browser, at `now` (ms), or null. Its MAC names the device for
 * the throttle: an owner behind the same address as an attacker is still
 * counted apart.
 */
export function knownDevice(value: string | null, user: UserRecord, now: number): string | null {
  if (user._password === null) return null;
  const found = entries(value).find(({ issued, sig }) => {
    const at = parseInt(issued, 36);
    return now - at < MAX_AGE_DAYS * 86_400_000 && timingSafeEqualString(sig, mac(user, issued));
  });
  return found ? found.sig : null;
}

/** The cookie's new value after a successful login of `user`: its entry first, then up to a few others. */
export function rememberDevice(value: string | null, user: UserRecord, now: number): string {
  const issued = now.toString(36);
  const mine = `${issued}.${mac(user, issued)}`;
  // This account's older entries are replaced; other accounts' stay, while young enough.
  const others = entries(value)
    .filter(({ issued: at, sig }) => now - parseInt(at, 36) < MAX_AGE_DAYS * 86_400_000 && !timingSafeEqualString(sig, mac(user, at)))
    .map((e) => `${e.issued}.${e.sig}`);
  return [mine, ...others].slice(0, MAX_ENTRIES).join("~");
}

/** How long the browser keeps the cookie. */
export const KNOWN_DEVICE_MAX_AGE_SECONDS = MAX_AGE_DAYS * 86_400;
