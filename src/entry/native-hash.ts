import * as nodeCrypto from "node:crypto";
import { useNativeHmacSha256, useNativeSha256Hex } from "../lib/sha256.ts";

/**
 * Session tokens are hashed on every request, and a Basic request's
 * credentials go through an HMAC: node:crypto's (Deno, Bun and Node all
 * have it) is the cheapest hash everywhere, the one-shot `hash` (Node
 * 20.12+, Deno, Bun) before `createHash`. Its HMAC is the cheapest on Node
 * and Bun, but on Deno it costs about twice the library's keyed HMAC, which
 * Deno therefore keeps (figures: bench/hash.ts). Each is checked against
 * known answers before use (src/lib/sha256.ts). Returns whether the native
 * hash is in use.
 */
export function useNodeCryptoSha256(): boolean {
  const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string) => string }).hash;
  const hash = useNativeSha256Hex(oneShot ? (s) => oneShot("sha256", s) : (s) => nodeCrypto.createHash("sha256").update(s).digest("hex"));
  if (!("Deno" in globalThis)) useNativeHmacSha256((key, message) => nodeCrypto.createHmac("sha256", key).update(message).digest());
  return hash;
}
