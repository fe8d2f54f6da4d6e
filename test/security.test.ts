import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPasswordHasher, PBKDF2_ITERATIONS } from "../src/auth/password.ts";

const production = createPasswordHasher();
const hasher = (iterations?: number) => (iterations === undefined ? production : createPasswordHasher({ iterations }));
const hashPassword = (password: string, iterations?: number) => hasher(iterations).hash(password);
const verifyPassword = (password: string, stored: string | null, iterations?: number) => hasher(iterations).verify(password, stored);
const dummyVerify = (password: string, iterations?: number) => hasher(iterations).burn(password);
import { hashToken, newToken } from "../src/auth/tokens.ts";
import { hmacSha256, keyedHmacSha256, sha256, sha256Hex, toHex, useNativeHmacSha256, useNativeSha256Hex } from "../src/lib/sha256.ts";
import { useNodeCryptoSha256 } from "../src/entry/native-hash.ts";
import { timingSafeEqual } from "../src/lib/encoding.ts";
import { createCredentialCache } from "../src/auth/credential-cache.ts";

describe("passwords", () => {
  it("hashes with PBKDF2-SHA256 at 600,000 iterations and a 16-byte salt, self-described", async () => {
    assert.equal(PBKDF2_ITERATIONS, 600_000);
    const h = await hashPassword("H0lbertonSchool98!");
    const [alg, iter, salt, hash] = h.split("$");
    assert.equal(alg, "pbkdf2_sha256");
    assert.equal(iter, "600000");
    assert.equal(atob(salt).length, 16);
    assert.equal(atob(hash).length, 32);
    assert.notEqual(await hashPassword("H0lbertonSchool98!"), h, "salted");
    assert.deepEqual(await verifyPassword("H0lbertonSchool98!", h), { ok: true, needsRehash: false });
    assert.deepEqual(await verifyPassword("h0lbertonSchool98!", h), { ok: false, needsRehash: false });
  });

  it("matches an independent PBKDF2 implementation (RFC 6070-style vector with SHA-256)", async () => {
    // PBKDF2-HMAC-SHA256("password", "salt", 1, 32), a published test vector.
    const stored = `pbkdf2_sha256$1$${btoa("salt")}$${
      btoa(String.fromCharCode(...hexBytes("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")))
    }`;
    assert.deepEqual(await verifyPassword("password", stored, 1), { ok: true, needsRehash: false });
  });

  it("accepts the original's unsalted SHA-256 hex and asks for a re-hash; a weaker iteration count too", async () => {
    const legacy = sha256Hex("secret-pass");
    assert.deepEqual(await verifyPassword("secret-pass", legacy), { ok: true, needsRehash: true });
    assert.deepEqual(await verifyPassword("secret-pass", legacy.toUpperCase()), { ok: true, needsRehash: true });
    assert.deepEqual(await verifyPassword("wrong", legacy), { ok: false, needsRehash: false });
    const weak = await hashPassword("secret-pass", 1000);
    assert.deepEqual(await verifyPassword("secret-pass", weak), { ok: true, needsRehash: true });
  });

  it("never matches null, garbage or a tampered hash", async () => {
    for (const stored of [null, "", "plain", "pbkdf2_sha256$abc$$", "pbkdf2_sha256$99999999999$c2FsdA==$aGFzaA==", "md5$x"]) {
      assert.equal((await verifyPassword("x", stored, 1000)).ok, false, String(stored));
    }
    const h = await hashPassword("pw-123456", 1000);
    const tampered = h.slice(0, -4) + (h.endsWith("AAA=") ? "BBB=" : "AAA=");
    assert.equal((await verifyPassword("pw-123456", tampered, 1000)).ok, false);
    await dummyVerify("x", 1000);
  });
});

describe("tokens", () => {
  it("are 256 random bits, base64url, all different; stored as hex SHA-256", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = newToken();
      assert.match(t, /^[A-Za-z0-9_-]{43}$/);
      seen.add(t);
    }
    assert.equal(seen.size, 1000);
    assert.equal(hashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("SHA-256 and HMAC match published vectors", () => {
    assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(sha256Hex("a".repeat(1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
    // RFC 4231 test case 2.
    assert.equal(
      toHex(hmacSha256(new TextEncoder().encode("Jefe"), "what do ya want for nothing?")),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("compares in constant time by content and length", () => {
    const a = new Uint8Array([1, 2, 3]);
    assert.equal(timingSafeEqual(a, new Uint8Array([1, 2, 3])), true);
    assert.equal(timingSafeEqual(a, new Uint8Array([1, 2, 4])), false);
    assert.equal(timingSafeEqual(a, new Uint8Array([1, 2])), false);
    assert.equal(timingSafeEqual(new Uint8Array(), new Uint8Array()), true);
  });
});

describe("hashes, as the library computes them and as the entry files install them", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  // FIPS 180-2 examples and RFC 4231 test cases 1, 2, 6 and 7.
  const digests: [string, string][] = [
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
    ["a".repeat(1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
  ];
  const longKey = new Uint8Array(131).fill(0xaa);
  const macs: [Uint8Array, string, string][] = [
    [new Uint8Array(20).fill(0x0b), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    [bytes("Jefe"), "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    [longKey, "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"],
    [
      longKey,
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  const matchVectors = () => {
    for (const [input, hex] of digests) {
      assert.equal(sha256Hex(input), hex);
      assert.equal(toHex(sha256(bytes(input))), hex);
    }
    for (const [key, message, hex] of macs) {
      assert.equal(toHex(hmacSha256(key, message)), hex);
      assert.equal(toHex(hmacSha256(key, bytes(message))), hex);
      const keyed = keyedHmacSha256(key);
      // Twice: the keyed state is reused, never consumed.
      assert.equal(toHex(keyed(message)), hex);
      assert.equal(toHex(keyed(bytes(message))), hex);
    }
    assert.equal(sha256Hex("\u00e9t\u00e9"), toHex(sha256(bytes("\u00e9t\u00e9"))));
  };
  const backToLibrary = () => {
    useNativeSha256Hex(() => "");
    useNativeHmacSha256(() => new Uint8Array(32));
  };

  it("the library matches published vectors", () => {
    backToLibrary();
    matchVectors();
  });

  it("node:crypto's, once installed, matches the same vectors", () => {
    try {
      assert.equal(useNodeCryptoSha256(), true);
      matchVectors();
    } finally {
      backToLibrary();
    }
  });

  it("a native function that answers wrongly or throws is refused", () => {
    assert.equal(useNativeSha256Hex(() => "0".repeat(64)), false);
    assert.equal(useNativeHmacSha256(() => new Uint8Array(32)), false);
    assert.equal(
      useNativeHmacSha256(() => {
        throw new Error("no HMAC here");
      }),
      false,
    );
    matchVectors();
  });
});

describe("credential cache", () => {
  it("is bounded in size and age, and keyed by an HMAC, never the password", () => {
    let now = 0;
    const cache = createCredentialCache({ maxEntries: 2, maxAgeMs: 1000, now: () => now });
    const user = (id: string, hash: string, email = `${id}@x`) => ({
      id,
      created_at: "",
      updated_at: "",
      email,
      _password: hash,
      first_name: null,
      last_name: null,
    });
    cache.remember("Basic a", user("u1", "h1"));
    cache.remember("Basic b", user("u2", "h2"));
    cache.remember("Basic c", user("u3", "h3"));
    assert.equal(cache.size, 2);
    assert.equal(cache.lookup("Basic a"), null, "oldest evicted");
    assert.equal(cache.lookup("Basic b")?.id, "u2");
    assert.equal(cache.lookup("Basic b")?.check(user("u2", "h2")), true);
    assert.equal(cache.lookup("Basic b")?.check(user("u2", "h2", "renamed@x")), false);
    assert.equal(cache.lookup("Basic b"), null, "dropped once the email changed");
    cache.remember("Basic b", user("u2", "h2"));
    assert.equal(cache.lookup("Basic b")?.check(user("u2", "changed")), false);
    assert.equal(cache.lookup("Basic b"), null, "dropped once the hash changed");
    assert.equal(cache.lookup("Basic c")?.id, "u3");
    now = 1000;
    assert.equal(cache.lookup("Basic c"), null, "expired");
  });
});

function hexBytes(hex: string): number[] {
  return hex.match(/../g)!.map((b) => parseInt(b, 16));
}

describe("hash limiter", () => {
  it("runs at most N tasks at once, in arrival order, and grows on resize", async () => {
    const { createLimiter } = await import("../src/lib/limiter.ts");
    const limit = createLimiter(2);
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const done = Array.from({ length: 5 }, (_, i) =>
      limit.run(() => {
        started.push(i);
        return new Promise<number>((r) => releases.push(() => r(i)));
      }));
    await Promise.resolve();
    assert.deepEqual(started, [0, 1]);
    assert.equal(limit.running, 2);
    assert.equal(limit.waiting, 3);
    releases[0]();
    await done[0];
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(started, [0, 1, 2]);
    limit.resize(4);
    await Promise.resolve();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    for (const r of releases.slice(1)) r();
    assert.deepEqual(await Promise.all(done), [0, 1, 2, 3, 4]);
    assert.equal(limit.running, 0);
    // A failing task frees its slot too.
    await assert.rejects(limit.run(() => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(limit.running, 0);
  });
});
