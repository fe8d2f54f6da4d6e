import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

/**
 * Synchronous SHA-256 and HMAC-SHA256: @noble/hashes (audited, plain
 * JavaScript, the same on every runtime) unless an entry file installed a
 * runtime's native hash that passed a known-answer check.
 *
 * Why not `crypto.subtle.digest`: it is asynchronous, and an awaited digest
 * costs about 40 µs on Node, as much as a whole session-authenticated
 * request, which hashes its cookie's token; a Basic request keys the
 * credential cache with an HMAC. Not used for passwords (those go through
 * PBKDF2 in Web Crypto).
 */

const encoder = new TextEncoder();
const bytesOf = (input: Uint8Array | string): Uint8Array => (typeof input === "string" ? encoder.encode(input) : input);

/** SHA-256 of bytes (or of a string's UTF-8). */
export function sha256(input: Uint8Array | string): Uint8Array {
  return nobleSha256(bytesOf(input));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

type Hmac = (key: Uint8Array, message: Uint8Array | string) => Uint8Array;
const libraryHmac: Hmac = (key, message) => hmac(nobleSha256, key, bytesOf(message));
let nativeHex: ((s: string) => string) | null = null;
let hmacImpl: Hmac = libraryHmac;

/** Whether `check` holds without throwing: a native function that throws is as wrong as one that answers wrongly. */
function holds(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/**
 * Lets `sha256Hex` use a runtime's native hash (an entry file passes
 * node:crypto's, which Deno, Bun and Node all have). Checked against known
 * answers first (FIPS 180-2's "abc", and a non-ASCII string against the
 * library); a function that gets them wrong is refused and the library's
 * hash stays in use. Returns whether `impl` is in use.
 */
export function useNativeSha256Hex(impl: (s: string) => string): boolean {
  const ok = holds(() =>
    impl("abc") === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" && impl("\u00e9") === toHex(sha256("\u00e9"))
  );
  nativeHex = ok ? impl : null;
  return ok;
}

/**
 * Lets `hmacSha256` use a runtime's native HMAC, as `useNativeSha256Hex`
 * does for the hash: RFC 4231's test cases 2 (short key) and 6 (a key longer
 * than the block, hashed first) must come out right, or the library's HMAC
 * stays in use. Returns whether `impl` is in use.
 */
export function useNativeHmacSha256(impl: Hmac): boolean {
  const ok = holds(() => {
    const short = impl(encoder.encode("Jefe"), "what do ya want for nothing?");
    const long = impl(new Uint8Array(131).fill(0xaa), encoder.encode("Test Using Larger Than Block-Size Key - Hash Key First"));
    return short instanceof Uint8Array && toHex(short) === "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" &&
      long instanceof Uint8Array && toHex(long) === "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  });
  hmacImpl = ok ? impl : libraryHmac;
  return ok;
}

/** HMAC-SHA256 (RFC 2104) of `message` (bytes, or a string's UTF-8) under `key`. */
export function hmacSha256(key: Uint8Array, message: Uint8Array | string): Uint8Array {
  return hmacImpl(key, message);
}

/**
 * `hmacSha256` under one key for many messages (the credential cache's, the
 * audit log's): the library's HMAC hashes the key's two padded blocks once
 * here instead of on every call, 4 compressions down to 2 for a short
 * message. A native HMAC, when installed, is used as it is.
 */
export function keyedHmacSha256(key: Uint8Array): (message: Uint8Array | string) => Uint8Array {
  const keyed = hmac.create(nobleSha256, key);
  return (message) => (hmacImpl === libraryHmac ? keyed.clone().update(bytesOf(message)).digest() : hmacImpl(key, message));
}

/** Hex SHA-256 of a string's UTF-8: the form in which session tokens are stored. */
export function sha256Hex(s: string): string {
  return nativeHex ? nativeHex(s) : toHex(sha256(s));
}
