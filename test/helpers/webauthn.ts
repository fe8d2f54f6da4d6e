import { bytesToBase64Url } from "../../src/lib/encoding.ts";

/**
 * A software authenticator for tests: ES256 keys from Web Crypto, "none"
 * attestation, answers shaped as a browser's `PublicKeyCredential.toJSON()`.
 * It lets the tests make real attestations and assertions in-process and
 * then spoil exactly one thing (the challenge, the origin, the relying
 * party, the counter) to see the service refuse it. The browser tests use
 * Chromium's own virtual authenticator instead.
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;

/** The CBOR (RFC 8949) of the few types an attestation needs: integers, byte and text strings, arrays, maps. */
export function cbor(value: Cbor): Uint8Array {
  const out: number[] = [];
  const head = (major: number, n: number) => {
    if (n < 24) out.push((major << 5) | n);
    else if (n < 0x100) out.push((major << 5) | 24, n);
    else if (n < 0x10000) out.push((major << 5) | 25, n >> 8, n & 0xff);
    else out.push((major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  };
  const put = (v: Cbor) => {
    if (typeof v === "number") return v >= 0 ? head(0, v) : head(1, -1 - v);
    if (typeof v === "string") {
      const bytes = new TextEncoder().encode(v);
      head(3, bytes.length);
      return out.push(...bytes);
    }
    if (v instanceof Uint8Array) {
      head(2, v.length);
      return out.push(...v);
    }
    if (Array.isArray(v)) {
      head(4, v.length);
      return v.forEach(put);
    }
    head(5, v.size);
    for (const [k, x] of v) {
      put(k);
      put(x);
    }
  };
  put(value);
  return new Uint8Array(out);
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
const text = (s: string) => new TextEncoder().encode(s);
const u32 = (n: number) => new Uint8Array([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

/** An ECDSA signature as Web Crypto gives it (r‖s) in the DER form WebAuthn carries. */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.slice(i);
    return v[0] & 0x80 ? concat(new Uint8Array([0x02, v.length + 1, 0]), v) : concat(new Uint8Array([0x02, v.length]), v);
  };
  const body = concat(int(raw.slice(0, 32)), int(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

/** What a test may change in one ceremony. */
export type Spoil = { origin?: string; rpId?: string; challenge?: string; counter?: number; type?: string; userVerified?: boolean };

/**
 * One authenticator holding one credential (made at `register`).
 *
 * @example const key = await softwareAuthenticator();
 *          const attestation = await key.register(options, "http://localhost");
 *          const assertion = await key.assert(requestOptions, "http://localhost");
 */
export async function softwareAuthenticator(o: { userVerified?: boolean } = {}) {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const rawId = crypto.getRandomValues(new Uint8Array(16));
  const id = bytesToBase64Url(rawId);
  let counter = 0;
  let userHandle = "";
  const flags = (s: Spoil) => FLAG_UP | ((s.userVerified ?? o.userVerified ?? true) ? FLAG_UV : 0);
  const clientData = (type: string, challenge: string, origin: string) =>
    text(JSON.stringify({ type, challenge, origin, crossOrigin: false }));

  return {
    id,
    /** The counter the next assertion will carry, less one. */
    get counter() {
      return counter;
    },
    /** The answer to creation options (`rp.id`, `user.id`, `challenge`). */
    async register(options: { challenge: string; rp: { id: string }; user: { id: string } }, origin: string, spoil: Spoil = {}) {
      userHandle = options.user.id;
      const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
      const b64 = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
      const cose = cbor(new Map<number, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, b64(jwk.x!)], [-3, b64(jwk.y!)]]));
      const authData = concat(
        await sha256(text(spoil.rpId ?? options.rp.id)),
        new Uint8Array([flags(spoil) | FLAG_AT]),
        u32(counter),
        new Uint8Array(16),
        new Uint8Array([0, rawId.length]),
        rawId,
        cose,
      );
      const attestationObject = cbor(new Map<string, Cbor>([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
      return {
        id,
        rawId: id,
        type: "public-key",
        clientExtensionResults: {},
        response: {
          clientDataJSON: bytesToBase64Url(clientData(spoil.type ?? "webauthn.create", spoil.challenge ?? options.challenge, origin)),
          attestationObject: bytesToBase64Url(attestationObject),
          transports: ["internal"],
        },
      };
    },
    /** The answer to request options (`rpId`, `challenge`), counting up unless `spoil.counter` says otherwise. */
    async assert(options: { challenge: string; rpId: string }, origin: string, spoil: Spoil = {}) {
      counter = spoil.counter ?? counter + 1;
      const authData = concat(await sha256(text(spoil.rpId ?? options.rpId)), new Uint8Array([flags(spoil)]), u32(counter));
      const clientDataJSON = clientData(spoil.type ?? "webauthn.get", spoil.challenge ?? options.challenge, origin);
      const signed = concat(authData, await sha256(clientDataJSON));
      const raw = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, signed as Uint8Array<ArrayBuffer>),
      );
      return {
        id,
        rawId: id,
        type: "public-key",
        clientExtensionResults: {},
        response: {
          clientDataJSON: bytesToBase64Url(clientDataJSON),
          authenticatorData: bytesToBase64Url(authData),
          signature: bytesToBase64Url(derSignature(raw)),
          userHandle,
        },
      };
    },
  };
}
