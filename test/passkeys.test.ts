import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cookieOf, fakeClock, testApp } from "./helpers/app.ts";
import { everyStorage } from "./helpers/storages.ts";
import { softwareAuthenticator, type Spoil } from "./helpers/webauthn.ts";

/**
 * Passkeys through the API, on every storage, with real attestations and
 * assertions from a software authenticator (test/helpers/webauthn.ts) that
 * each test spoils in one way: the challenge (unknown, replayed, expired),
 * the origin, the relying party, the counter, the user verification. The
 * app runs in-process at http://localhost, so the relying party is
 * "localhost" and the origin http://localhost.
 */

const storages = everyStorage("passkeys");
const ORIGIN = "http://localhost";
const PASSWORD = "correct-Horse-9";
type Options = { challenge: string; rp: { id: string }; user: { id: string }; excludeCredentials?: { id: string }[]; rpId: string };

async function setUp(storage: string, env: Record<string, string> = {}) {
  const clock = fakeClock(Date.now());
  const driver = await storages[storage](clock.now);
  const lines: string[] = [];
  const t = testApp({
    env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true", LOG_FORMAT: "json", ...env },
    driver,
    now: clock.now,
    logLines: lines,
  });
  let client = 0;
  // Each request from its own address, unless a test names one: the per-client limits stay out of the way.
  const from = (headers: Record<string, string> = {}) => ({ "X-Forwarded-For": `192.0.2.${++client % 250}`, ...headers });
  const login = async (email: string) => {
    const r = await t.form("/api/v1/auth_session/login", { email, password: PASSWORD }, from());
    assert.equal(r.status, 200, await r.clone().text());
    return cookieOf(r);
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => t.json(path, "POST", body, from(headers));
  const options = async (path: string, cookie?: string) => {
    const r = await post(path, {}, cookie ? { Cookie: cookie } : {});
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as Options;
  };
  /** Registers a passkey of `key` for the user of `cookie`; the answer of POST /users/me/passkeys. */
  const register = async (key: Awaited<ReturnType<typeof softwareAuthenticator>>, cookie: string, spoil: Spoil = {}, name?: string) => {
    const o = await options("/api/v1/users/me/passkeys/options", cookie);
    return post("/api/v1/users/me/passkeys", { response: await key.register(o, spoil.origin ?? ORIGIN, spoil), name }, { Cookie: cookie });
  };
  /** A passkey login with `key`, the assertion spoiled by `spoil`. */
  const passkeyLogin = async (key: Awaited<ReturnType<typeof softwareAuthenticator>>, spoil: Spoil = {}) => {
    const o = await options("/api/v1/auth_session/passkey/options");
    const response = await key.assert(o, spoil.origin ?? ORIGIN, spoil);
    return { r: await post("/api/v1/auth_session/passkey", { response }), response };
  };
  const events = (name: string) => lines.map((l) => JSON.parse(l)).filter((l) => l.event === name);
  const bob = await t.seed("bob@hbtn.io", PASSWORD);
  const bobCookie = await login("bob@hbtn.io");
  return { t, driver, clock, post, options, register, passkeyLogin, events, bob, bobCookie, login };
}

for (const storage of Object.keys(storages)) {
  describe(`passkeys on ${storage} storage`, () => {
    it("registers a passkey, lists it, excludes it from new options, and logs in with it like a password login", async () => {
      const s = await setUp(storage);
      const key = await softwareAuthenticator();
      const added = await s.register(key, s.bobCookie, {}, "  Laptop  ");
      assert.equal(added.status, 201, await added.clone().text());
      const view = await added.json();
      assert.deepEqual(Object.keys(view), ["id", "name", "created_at", "last_used_at"]);
      assert.deepEqual([view.id, view.name, view.last_used_at], [key.id, "Laptop", null]);
      const options = await s.options("/api/v1/users/me/passkeys/options", s.bobCookie);
      assert.equal(options.rp.id, "localhost");
      assert.deepEqual(options.excludeCredentials?.map((c) => c.id), [key.id]);
      // The user handle is the user id's bytes.
      assert.equal(
        new TextDecoder().decode(Uint8Array.from(atob(options.user.id.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))),
        s.bob.id,
      );

      const { r } = await s.passkeyLogin(key);
      assert.equal(r.status, 200, await r.clone().text());
      assert.deepEqual(Object.keys(await r.json()), ["created_at", "email", "first_name", "id", "last_name", "updated_at"]);
      const cookies = r.headers.getSetCookie();
      assert.match(cookies[0], /^_my_session_id=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
      assert.ok(cookies.some((c) => c.startsWith("_my_session_id_device=")), "the known-device cookie, as a password login");
      const me = await s.t.request("/api/v1/users/me", { headers: { Cookie: cookieOf(r) } });
      assert.equal(((await me.json()) as { email: string }).email, "bob@hbtn.io");
      const list = await (await s.t.request("/api/v1/users/me/passkeys", { headers: { Cookie: s.bobCookie } })).json();
      assert.equal(list.length, 1);
      assert.notEqual(list[0].last_used_at, null);
      assert.equal((await s.driver.getAccount(s.bob.id))?.passkeys[0].counter, key.counter);
      assert.deepEqual(s.events("passkey_added").map((e) => e.user_id), [s.bob.id]);
      assert.deepEqual(s.events("passkey_login").map((e) => e.user_id), [s.bob.id]);
      await s.driver.close();
    });

    it("refuses an unknown, a replayed and an expired challenge (single use, 5 minutes)", async () => {
      const s = await setUp(storage);
      const key = await softwareAuthenticator();
      assert.equal((await s.register(key, s.bobCookie)).status, 201);
      const forged = await s.passkeyLogin(key, { challenge: "A".repeat(43) });
      assert.equal(forged.r.status, 400);
      assert.match((await forged.r.json()).error, /challenge expired or already used/);

      const good = await s.passkeyLogin(key);
      assert.equal(good.r.status, 200);
      const replay = await s.post("/api/v1/auth_session/passkey", { response: good.response });
      assert.equal(replay.status, 400, "the same answer twice");

      const o = await s.options("/api/v1/auth_session/passkey/options");
      s.clock.advance(5 * 60_000 + 1000);
      const late = await s.post("/api/v1/auth_session/passkey", { response: await key.assert(o, ORIGIN) });
      assert.equal(late.status, 400);
      // A registration challenge is not a login one, and another user's is not yours.
      const reg = await s.options("/api/v1/users/me/passkeys/options", s.bobCookie);
      const crossed = await s.post("/api/v1/auth_session/passkey", { response: await key.assert({ ...reg, rpId: "localhost" }, ORIGIN) });
      assert.equal(crossed.status, 400);
      await s.t.seed("eve@hbtn.io", PASSWORD);
      const eve = await s.login("eve@hbtn.io");
      const evesKey = await softwareAuthenticator();
      const stolen = await s.post("/api/v1/users/me/passkeys", { response: await evesKey.register(reg, ORIGIN) }, { Cookie: eve });
      assert.equal(stolen.status, 400);
      assert.ok(s.events("passkey_failed").some((e) => /challenge/.test(e.reason)));
      await s.driver.close();
    });

    it("refuses another origin, another relying party, a counter that goes backwards; a counter of 0 stays allowed", async () => {
      const s = await setUp(storage);
      const key = await softwareAuthenticator();
      assert.equal((await s.register(key, s.bobCookie)).status, 201);
      for (const spoil of [{ origin: "http://localhost:9999" }, { origin: "https://evil.example" }, { rpId: "example.com" }]) {
        const { r } = await s.passkeyLogin(key, spoil);
        assert.equal(r.status, 401, JSON.stringify(spoil));
        assert.deepEqual(await r.json(), { error: "passkey not accepted" });
      }
      assert.equal((await s.passkeyLogin(key, { counter: 5 })).r.status, 200);
      assert.equal((await s.passkeyLogin(key, { counter: 5 })).r.status, 401, "the same counter again: a clone");
      assert.equal((await s.passkeyLogin(key, { counter: 3 })).r.status, 401);
      assert.ok(s.events("passkey_failed").some((e) => /counter/i.test(e.reason)), JSON.stringify(s.events("passkey_failed")));
      assert.ok(s.events("passkey_failed").some((e) => /origin/i.test(e.reason)));
      assert.ok(s.events("passkey_failed").some((e) => /RP ID/i.test(e.reason)));
      assert.equal((await s.driver.getAccount(s.bob.id))?.passkeys[0].counter, 5);
      // An authenticator that keeps no counter says 0 every time: allowed while the stored one is 0 too.
      const counterless = await softwareAuthenticator();
      assert.equal((await s.register(counterless, s.bobCookie)).status, 201);
      assert.equal((await s.passkeyLogin(counterless, { counter: 0 })).r.status, 200);
      assert.equal((await s.passkeyLogin(counterless, { counter: 0 })).r.status, 200);
      // Registered elsewhere: an attestation for another relying party or origin is refused too.
      const other = await softwareAuthenticator();
      assert.equal((await s.register(other, s.bobCookie, { rpId: "example.com" })).status, 400);
      assert.equal((await s.register(other, s.bobCookie, { origin: "https://evil.example" })).status, 400);
      await s.driver.close();
    });

    it("removes a passkey: 404 for an unknown id or another user's; a removed passkey no longer logs in", async () => {
      const s = await setUp(storage);
      const key = await softwareAuthenticator();
      assert.equal((await s.register(key, s.bobCookie)).status, 201);
      await s.t.seed("eve@hbtn.io", PASSWORD);
      const eve = await s.login("eve@hbtn.io");
      const del = (id: string, cookie: string) =>
        s.t.request(`/api/v1/users/me/passkeys/${id}`, { method: "DELETE", headers: { Cookie: cookie } });
      assert.equal((await del(key.id, eve)).status, 404, "Bob's passkey, asked by Eve");
      assert.equal((await del("bm9uZQ", s.bobCookie)).status, 404);
      assert.equal((await s.passkeyLogin(key)).r.status, 200, "still Bob's");
      const removed = await del(key.id, s.bobCookie);
      assert.equal(removed.status, 200);
      assert.deepEqual(await removed.json(), {});
      assert.equal((await s.passkeyLogin(key)).r.status, 401);
      assert.deepEqual(await (await s.t.request("/api/v1/users/me/passkeys", { headers: { Cookie: s.bobCookie } })).json(), []);
      assert.deepEqual(s.events("passkey_removed").map((e) => [e.user_id, e.target]), [[s.bob.id, key.id]]);
      await s.driver.close();
    });
  });
}

describe("passkeys: second factor, bad input, configuration", () => {
  it("a user with TOTP needs user verification: without it 401 second factor required, with it a session", async () => {
    const s = await setUp("memory");
    const withUv = await softwareAuthenticator();
    const withoutUv = await softwareAuthenticator({ userVerified: false });
    assert.equal((await s.register(withUv, s.bobCookie)).status, 201);
    assert.equal((await s.register(withoutUv, s.bobCookie)).status, 201, "a key without a PIN may still be registered");
    const factors = await s.t.request("/api/v1/users/me/factors", { headers: { Cookie: s.bobCookie } });
    assert.equal(((await factors.json()) as { passkeys: number }).passkeys, 2, "the factors count the passkeys");
    // Without TOTP, a passkey is enough on its own.
    assert.equal((await s.passkeyLogin(withoutUv)).r.status, 200);
    await s.driver.updateAccount(s.bob.id, (a) => ({
      account: { ...a, totp: { secret: "v1.x.y", confirmed_at: "2025-01-01T00:00:00", last_step: null, recovery_codes: [] } },
      result: null,
    }));
    const { r } = await s.passkeyLogin(withoutUv);
    assert.equal(r.status, 401);
    assert.deepEqual(await r.json(), { error: "second factor required" });
    assert.equal(r.headers.get("set-cookie"), null);
    assert.equal((await s.passkeyLogin(withUv)).r.status, 200);
  });

  it("answers bad input with a clear 4xx, never a 500", async () => {
    const s = await setUp("memory");
    const bad: [unknown, number][] = [
      [{}, 400],
      [{ response: "x" }, 400],
      [{ response: { id: "x", rawId: "x", type: "public-key", response: { clientDataJSON: "%%%" } } }, 400],
      [{ response: { id: "x", rawId: "x", type: "public-key", response: { clientDataJSON: btoa("{}") } } }, 400],
      [[1], 400],
    ];
    for (const [body, status] of bad) {
      for (const path of ["/api/v1/auth_session/passkey", "/api/v1/users/me/passkeys"]) {
        const r = await s.post(path, body, { Cookie: s.bobCookie });
        assert.equal(r.status, status, `${path} ${JSON.stringify(body)}`);
        assert.equal(typeof (await r.json()).error, "string");
      }
    }
    const key = await softwareAuthenticator();
    const long = await s.register(key, s.bobCookie, {}, "x".repeat(65));
    assert.equal(long.status, 400);
    assert.match((await long.json()).error, /name is too long/);
    const notJson = await s.t.request("/api/v1/auth_session/passkey", { method: "POST", body: "response=1" });
    assert.equal(notJson.status, 400);
    // Without an auth type nobody is "me"; without sessions there is no passkey login.
    const open = testApp({ env: {} });
    assert.equal((await open.json("/api/v1/users/me/passkeys/options", "POST", {})).status, 404);
    const basicOnly = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    const noSessions = await basicOnly.json("/api/v1/auth_session/passkey/options", "POST", {});
    assert.equal(noSessions.status, 400);
    assert.match((await noSessions.json()).error, /Sessions are not enabled/);
  });

  it("refuses a passkey login from another site's page (login CSRF), and limits the options one client asks for", async () => {
    const s = await setUp("memory");
    const key = await softwareAuthenticator();
    assert.equal((await s.register(key, s.bobCookie)).status, 201);
    const o = await s.options("/api/v1/auth_session/passkey/options");
    const crossSite = await s.post("/api/v1/auth_session/passkey", { response: await key.assert(o, ORIGIN) }, {
      Origin: "https://evil.example",
      "Sec-Fetch-Site": "cross-site",
    });
    assert.equal(crossSite.status, 403);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      statuses.push((await s.post("/api/v1/auth_session/passkey/options", {}, { "X-Forwarded-For": "198.51.100.7" })).status);
    }
    assert.equal(statuses.filter((x) => x === 200).length, 30);
    const limited = await s.post("/api/v1/auth_session/passkey/options", {}, { "X-Forwarded-For": "198.51.100.7" });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  });

  it("a passkey login failing over and over from one client is throttled (429), as password logins are", async () => {
    const s = await setUp("memory");
    const key = await softwareAuthenticator();
    assert.equal((await s.register(key, s.bobCookie)).status, 201);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const o = await s.options("/api/v1/auth_session/passkey/options");
      const response = await key.assert(o, "https://evil.example");
      statuses.push((await s.post("/api/v1/auth_session/passkey", { response }, { "X-Forwarded-For": "198.51.100.9" })).status);
    }
    assert.ok(statuses.slice(0, 20).every((x) => x === 401), statuses.join());
    assert.equal(statuses.at(-1), 429);
  });

  it("takes its relying party from PUBLIC_URL, else RP_ID, else the request", async () => {
    const rpOf = async (env: Record<string, string>, url = "http://localhost/api/v1/auth_session/passkey/options") => {
      const t = testApp({ env: { AUTH_TYPE: "session_auth", ...env } });
      const r = await t.app.request(url, { method: "POST" });
      return ((await r.json()) as { rpId: string }).rpId;
    };
    assert.equal(await rpOf({}), "localhost");
    assert.equal(await rpOf({}, "http://auth.example.org:8080/api/v1/auth_session/passkey/options"), "auth.example.org");
    assert.equal(await rpOf({ PUBLIC_URL: "https://auth.example.com" }), "auth.example.com");
    assert.equal(await rpOf({ PUBLIC_URL: "https://auth.example.com", RP_ID: "example.com" }), "example.com");
    assert.equal(await rpOf({ RP_ID: "Example.COM" }), "example.com");
    assert.throws(() => testApp({ env: { PUBLIC_URL: "https://auth.example.com", RP_ID: "other.org" } }), /RP_ID/);
    assert.throws(() => testApp({ env: { RP_ID: "https://example.com" } }), /Invalid RP_ID/);
    assert.throws(() => testApp({ env: { RP_ID: "10.0.0.1" } }), /Invalid RP_ID/);
  });
});
