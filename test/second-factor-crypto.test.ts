import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { acceptTotp, newRecoveryCodes, newTotpSecret, recoveryCodeHash, totpCode, totpUrl } from "../src/auth/totp.ts";
import { createSecretBox } from "../src/auth/secret-box.ts";
import { Secret, TOTP } from "otpauth";

// RFC 6238 appendix B's SHA-1 key, "12345678901234567890", in base32.
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

// RFC 6238 appendix B's SHA-1 vectors: time (s) and the 8-digit code.
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP", () => {
  it("matches RFC 6238's published SHA-1 vectors (their last 6 digits: apps use 6)", () => {
    for (const [t, code] of RFC_VECTORS) assert.equal(totpCode(RFC_SECRET, t * 1000), code.slice(2), `T=${t}`);
  });

  it("the library computes RFC 6238's 8-digit SHA-1 vectors exactly, from the 20-byte ASCII key", () => {
    const secret = new Secret({ buffer: new TextEncoder().encode("12345678901234567890").buffer as ArrayBuffer });
    assert.equal(secret.base32, RFC_SECRET);
    const totp = new TOTP({ algorithm: "SHA1", digits: 8, period: 30, secret });
    for (const [t, code] of RFC_VECTORS) {
      assert.equal(totp.generate({ timestamp: t * 1000 }), code, `T=${t}`);
      // And what login accepts is the same code, cut to the 6 digits apps show.
      assert.notEqual(acceptTotp(RFC_SECRET, code.slice(2), t * 1000, null), null, `T=${t}`);
    }
  });

  it("accepts a code one step early or late, not two; each step once", () => {
    const now = 1111111109_000;
    const step = Math.floor(now / 30_000);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now), now, null), step);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now, null), step - 1);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now, null), step + 1);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 60_000), now, null), null);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 60_000), now, null), null);
    // Used once: the same code, or an older one, is refused after it.
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now), now, step), null);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now, step), null);
    assert.equal(acceptTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now, step), step + 1);
    for (const bad of ["", "12345", "1234567", "abcdef", " 081804"]) assert.equal(acceptTotp(RFC_SECRET, bad, now, null), null, bad);
  });

  it("makes 160-bit secrets and otpauth URLs an app can scan", () => {
    const s = newTotpSecret();
    assert.match(s, /^[A-Z2-7]{32}$/);
    assert.notEqual(newTotpSecret(), s);
    const url = new URL(totpUrl(s, "bob@hbtn.io", "Session Auth"));
    assert.equal(url.protocol, "otpauth:");
    assert.equal(url.searchParams.get("secret"), s);
    assert.equal(url.searchParams.get("digits"), "6");
    assert.equal(url.searchParams.get("period"), "30");
    assert.equal(url.searchParams.get("issuer"), "Session Auth");
  });

  it("makes ten distinct recovery codes, hashed; a typed code matches in any case, with or without the dash", () => {
    const { codes, hashes } = newRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, /^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/);
    assert.equal(recoveryCodeHash(codes[0].toUpperCase().replace("-", " ")), hashes[0]);
    assert.equal(recoveryCodeHash(codes[0].replace("-", "")), hashes[0]);
    assert.ok(!hashes.includes(recoveryCodeHash("aaaaa-aaaaa")));
  });
});

describe("the secret box", () => {
  it("seals with AES-GCM under a key derived from SECRET_KEY; another key or a changed byte opens nothing", async () => {
    const box = await createSecretBox("correct horse battery staple, long and random", "totp");
    const a = await box.seal("JBSWY3DPEHPK3PXP");
    const b = await box.seal("JBSWY3DPEHPK3PXP");
    assert.notEqual(a, b, "a fresh IV each time");
    assert.doesNotMatch(a, /JBSWY3DP/);
    assert.equal(await box.open(a), "JBSWY3DPEHPK3PXP");
    // The same SECRET_KEY in another process derives the same key.
    assert.equal(await (await createSecretBox("correct horse battery staple, long and random", "totp")).open(a), "JBSWY3DPEHPK3PXP");
    assert.equal(await (await createSecretBox("another key", "totp")).open(a), null);
    assert.equal(await (await createSecretBox("correct horse battery staple, long and random", "other purpose")).open(a), null);
    const [v, iv, data] = a.split(".");
    const flipped = data.slice(0, 4) + (data[4] === "A" ? "B" : "A") + data.slice(5);
    assert.equal(await box.open(`${v}.${iv}.${flipped}`), null);
    for (const junk of ["", "v1..", "v2.x.y", "v1.AAAA.AAAA", "not sealed at all"]) assert.equal(await box.open(junk), null, junk);
  });
});
