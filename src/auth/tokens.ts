import { bytesToBase64Url } from "../lib/encoding.ts";
import { sha256Hex } from "../lib/sha256.ts";

/**
 * A new session token: 256 bits from the CSPRNG, base64url (43 characters),
 * opaque to clients. Only `hashToken(token)` is ever stored.
 */
export function newToken(): string {
  return bytesToBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The stored form of a token: hex SHA-256. Synchronous on purpose (see
 * sha256.ts): it runs on every session-authenticated request. A plain hash
 * (no salt, no stretching) is enough because the token already carries 256
 * bits of entropy; it only has to make the stored value useless as a cookie.
 */
export function hashToken(token: string): string {
  return sha256Hex(token);
}
