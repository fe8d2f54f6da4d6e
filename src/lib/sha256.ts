/**
 * Synchronous SHA-256 and HMAC-SHA256 in plain TypeScript.
 *
 * Why not `crypto.subtle.digest`: it is asynchronous, and an awaited digest
 * costs about 40 µs on Node, as much as a whole session-authenticated
 * request. Hashing a 43-byte cookie token here takes a couple of µs, so the
 * hot path keeps tokens hashed at rest without paying a Web Crypto round
 * trip. Not used for passwords (those go through PBKDF2 in Web Crypto).
 */

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const W = new Int32Array(64);
const H = new Int32Array(8);
const INIT = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const encoder = new TextEncoder();
// Padding buffer reused for short messages (every cookie token): the hot
// path allocates nothing but the 32-byte result.
const SCRATCH = new Uint8Array(256);

function compress(b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const o = off + i * 4;
    W[i] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15], y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + bb) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0;
  H[5] = (H[5] + f) | 0;
  H[6] = (H[6] + g) | 0;
  H[7] = (H[7] + h) | 0;
}

/** Copies a short ASCII string into SCRATCH; false (nothing usable) for anything else. */
function asciiIntoScratch(s: string): boolean {
  if (s.length > SCRATCH.length - 9) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return false;
    SCRATCH[i] = c;
  }
  return true;
}

/** SHA-256 of bytes (or of a string's UTF-8). */
export function sha256(input: Uint8Array | string): Uint8Array {
  // Tokens are ASCII: skip TextEncoder's allocation for them.
  const ascii = typeof input === "string" && asciiIntoScratch(input);
  const msg = ascii ? null : typeof input === "string" ? encoder.encode(input) : input;
  const len = msg ? msg.length : input.length;
  const total = ((len + 9 + 63) >> 6) << 6;
  const padded = total <= SCRATCH.length ? SCRATCH : new Uint8Array(total);
  if (msg) padded.set(msg);
  padded.fill(0, len, total);
  padded[len] = 0x80;
  // Message length in bits, big-endian, in the last 8 bytes (messages here are far below 2^32 bytes).
  const bits = len * 8;
  const hi = Math.floor(bits / 0x100000000);
  padded[total - 8] = hi >>> 24;
  padded[total - 7] = hi >>> 16;
  padded[total - 6] = hi >>> 8;
  padded[total - 5] = hi;
  padded[total - 4] = bits >>> 24;
  padded[total - 3] = bits >>> 16;
  padded[total - 2] = bits >>> 8;
  padded[total - 1] = bits;
  H.set(INIT);
  for (let off = 0; off < total; off += 64) compress(padded, off);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = H[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}

/** HMAC-SHA256 (RFC 2104) of `message` under `key`. */
export function hmacSha256(key: Uint8Array, message: Uint8Array | string): Uint8Array {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? sha256(key) : key);
  const msg = typeof message === "string" ? encoder.encode(message) : message;
  const inner = new Uint8Array(64 + msg.length);
  const outer = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = k[i] ^ 0x36;
    outer[i] = k[i] ^ 0x5c;
  }
  inner.set(msg, 64);
  outer.set(sha256(inner), 64);
  return sha256(outer);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

let nativeHex: ((s: string) => string) | null = null;

/**
 * Lets `sha256Hex` use a runtime's native hash (an entry file passes
 * node:crypto's, which Deno, Bun and Node all have: about 1 µs for a token
 * against 2-3 µs here). Checked against a known answer first; a function
 * that gets it wrong is refused and this file's hash stays in use.
 */
export function useNativeSha256Hex(impl: (s: string) => string): boolean {
  const known = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // SHA-256("abc")
  let ok = false;
  try {
    ok = impl("abc") === known && impl("\u00e9") === toHex(sha256("\u00e9"));
  } catch {
    ok = false;
  }
  nativeHex = ok ? impl : null;
  return ok;
}

/** Hex SHA-256 of a string's UTF-8: the form in which session tokens are stored. */
export function sha256Hex(s: string): string {
  return nativeHex ? nativeHex(s) : toHex(sha256(s));
}
