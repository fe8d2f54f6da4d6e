import { base64ToBytes, bytesToBase64 } from "../lib/encoding.ts";

/**
 * Secrets the service must be able to read back (TOTP secrets), stored
 * encrypted: AES-256-GCM through Web Crypto, under a key derived with HKDF
 * (SHA-256) from SECRET_KEY and the purpose, so that a copy of the data
 * files or of the database alone does not give anyone a user's second
 * factor. GCM authenticates too: a value sealed under another SECRET_KEY
 * fails to open, which is how a wrong SECRET_KEY is told from a right one.
 *
 * Sealed form: `v1.<iv base64>.<ciphertext base64>` (a fresh 96-bit IV each
 * time). Rotating SECRET_KEY means opening every value with the old key and
 * sealing it with the new one (the CLI does it), never a code change.
 */

export type SecretBox = {
  seal(plain: string): Promise<string>;
  /** The plain text, or null when the value was sealed under another key or is damaged. */
  open(sealed: string): Promise<string | null>;
};

const encoder = new TextEncoder();

/**
 * A box for one purpose under SECRET_KEY.
 *
 * @example const box = await createSecretBox("a long random SECRET_KEY", "totp");
 *          const sealed = await box.seal("JBSWY3DPEHPK3PXP");
 */
export async function createSecretBox(secretKey: string, purpose: string): Promise<SecretBox> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secretKey), "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    // A fixed salt: the key must come out the same in every process from SECRET_KEY alone.
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("session-auth-api secret box"), info: encoder.encode(purpose) },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  return {
    async seal(plain) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(plain)));
      return `v1.${bytesToBase64(iv)}.${bytesToBase64(sealed)}`;
    },
    async open(value) {
      const [version, ivText, dataText] = value.split(".");
      const iv = base64ToBytes(ivText ?? "");
      const data = base64ToBytes(dataText ?? "");
      if (version !== "v1" || !iv || iv.length !== 12 || !data) return null;
      try {
        return new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, data));
      } catch {
        return null;
      }
    },
  };
}
