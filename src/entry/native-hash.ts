import * as nodeCrypto from "node:crypto";
import { useNativeSha256Hex } from "../lib/sha256.ts";

/**
 * Session tokens are hashed on every request: node:crypto's SHA-256 (Deno,
 * Bun and Node all have it) is the cheapest. The one-shot `hash` (Node
 * 20.12+, Deno, Bun) costs 0.2-0.7 µs a token against 0.4-0.7 for
 * `createHash`, 0.7-1 in JavaScript. Checked against a known answer before
 * use (see useNativeSha256Hex). Returns whether it is in use.
 */
export function useNodeCryptoSha256(): boolean {
  const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string) => string }).hash;
  return useNativeSha256Hex(oneShot ? (s) => oneShot("sha256", s) : (s) => nodeCrypto.createHash("sha256").update(s).digest("hex"));
}
