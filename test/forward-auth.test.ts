import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { basic, cookieOf, fakeClock, testApp } from "./helpers/app.ts";
import { everyStorage } from "./helpers/storages.ts";
import { parseConfig } from "../src/app/config.ts";

/**
 * GET /api/v1/auth_session/check: what nginx's auth_request (or Caddy's
 * forward_auth) asks before letting a request through to another app.
 */

const CHECK = "/api/v1/auth_session/check";
const PASSWORD = "correct-Horse-9";
const storages = everyStorage("forward-auth");

for (const [storage, open] of Object.entries(storages)) {
  describe(`the check route on ${storage} storage`, () => {
    it("204 with the user's id and email for a live session; 401 without one; a dead cookie is cleared", async () => {
      const clock = fakeClock(Date.now());
      const t = testApp({ env: { AUTH_TYPE: "session_db_auth" }, driver: await open(clock.now), now: clock.now });
      const user = await t.seed("bob@hbtn.io", PASSWORD);

      const none = await t.request(CHECK);
      assert.equal(none.status, 401);
      assert.deepEqual(await none.json(), { error: "Unauthorized" });
      assert.equal(none.headers.get("set-cookie"), null);

      const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
      const cookie = cookieOf(login);
      const ok = await t.request(CHECK, { headers: { Cookie: cookie } });
      assert.equal(ok.status, 204);
      assert.equal(await ok.text(), "");
      assert.equal(ok.headers.get("x-auth-user-id"), user.id);
      assert.equal(ok.headers.get("x-auth-user-email"), "bob@hbtn.io");
      assert.equal(ok.headers.get("set-cookie"), null, "a live session gets no cookie");
      assert.equal(ok.headers.get("cache-control"), "no-store");
      assert.equal(ok.headers.get("content-type"), null);
      assert.equal((await t.request(CHECK + "/", { method: "HEAD", headers: { Cookie: cookie } })).status, 204);

      const out = await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { Cookie: cookie } });
      assert.equal(out.status, 200);
      const dead = await t.request(CHECK, { headers: { Cookie: cookie } });
      assert.equal(dead.status, 401);
      assert.deepEqual(await dead.json(), { error: "Unauthorized" });
      assert.match(dead.headers.get("set-cookie") ?? "", /^_my_session_id=; Path=\/; Max-Age=0/);
      assert.equal(dead.headers.get("x-auth-user-id"), null);
      await t.driver.close();
    });

    it("renews the idle window as any authenticated request does", async () => {
      const clock = fakeClock(Date.now());
      const t = testApp({
        env: { AUTH_TYPE: "session_db_auth", SESSION_IDLE_TIMEOUT: "600" },
        driver: await open(clock.now),
        now: clock.now,
      });
      await t.seed("bob@hbtn.io", PASSWORD);
      const cookie = cookieOf(await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD }));
      // Three checks 400 s apart: 1,200 s in all, twice the idle limit, and the session lives on.
      for (let i = 0; i < 3; i++) {
        clock.advance(400_000);
        assert.equal((await t.request(CHECK, { headers: { Cookie: cookie } })).status, 204, `check ${i}`);
      }
      clock.advance(601_000);
      assert.equal((await t.request(CHECK, { headers: { Cookie: cookie } })).status, 401, "idle for longer than the limit");
      await t.driver.close();
    });
  });
}

describe("the check route under every auth type", () => {
  for (const authType of ["session_auth", "session_exp_auth"]) {
    it(`${authType}: a live session is 204`, async () => {
      const t = testApp({ env: { AUTH_TYPE: authType } });
      const user = await t.seed("bob@hbtn.io", PASSWORD);
      const cookie = cookieOf(await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD }));
      const r = await t.request(CHECK, { headers: { Cookie: cookie } });
      assert.deepEqual([r.status, r.headers.get("x-auth-user-id")], [204, user.id]);
      assert.equal((await t.request(CHECK, { headers: { Cookie: "_my_session_id=nope" } })).status, 401);
    });
  }

  it("basic_auth: the Basic header is checked, throttled like any Basic check; 401s carry the challenge", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    const user = await t.seed("bob@hbtn.io", PASSWORD);
    const ok = await t.request(CHECK, { headers: { Authorization: basic("bob@hbtn.io", PASSWORD) } });
    assert.deepEqual([ok.status, ok.headers.get("x-auth-user-id"), ok.headers.get("x-auth-user-email")], [204, user.id, "bob@hbtn.io"]);
    const wrong = await t.request(CHECK, { headers: { Authorization: basic("bob@hbtn.io", "wrong-pass-1") } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    assert.equal(wrong.headers.get("set-cookie"), null);
    const none = await t.request(CHECK);
    assert.deepEqual([none.status, none.headers.get("www-authenticate") !== null], [401, true]);
    // A cookie is no credential under Basic auth, and the check never clears one there.
    const cookieOnly = await t.request(CHECK, { headers: { Cookie: "_my_session_id=abc" } });
    assert.deepEqual([cookieOnly.status, cookieOnly.headers.get("set-cookie")], [401, null]);
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++) {
      status = (await t.request(CHECK, { headers: { Authorization: basic("bob@hbtn.io", `guess-${i}-xyz`) } })).status;
    }
    assert.equal(status, 429, "guessing through the check route is throttled");
  });

  for (const authType of ["auth", ""]) {
    it(`${authType || "no auth type"}: nobody is signed in, so 401`, async () => {
      const t = testApp({ env: { AUTH_TYPE: authType } });
      await t.seed("bob@hbtn.io", PASSWORD);
      assert.equal((await t.request(CHECK)).status, 401);
      assert.equal((await t.request(CHECK, { headers: { Authorization: basic("bob@hbtn.io", PASSWORD) } })).status, 401);
    });
  }
});

describe("COOKIE_DOMAIN", () => {
  it("is accepted as a registrable domain, with or without a leading dot; a public suffix, an IP or garbage is refused in one line", () => {
    assert.equal(parseConfig({ COOKIE_DOMAIN: ".Example.com" }, "/").cookieDomain, "example.com");
    assert.equal(parseConfig({ COOKIE_DOMAIN: "apps.example.co.uk" }, "/").cookieDomain, "apps.example.co.uk");
    assert.equal(parseConfig({}, "/").cookieDomain, null);
    for (const bad of ["com", ".com", "co.uk", "github.io", "127.0.0.1", "exa mple.com", "https://example.com", "localhost"]) {
      assert.throws(() => parseConfig({ COOKIE_DOMAIN: bad }, "/"), /Invalid COOKIE_DOMAIN ".*": expected /, bad);
    }
    for (const suffix of ["com", ".com", "co.uk", "github.io"]) {
      assert.throws(() => parseConfig({ COOKIE_DOMAIN: suffix }, "/"), /is a public suffix, shared by unrelated sites/, suffix);
    }
    assert.throws(
      () => parseConfig({ COOKIE_DOMAIN: "example.com", PUBLIC_URL: "https://auth.other.org" }, "/"),
      /COOKIE_DOMAIN.*contains PUBLIC_URL's host \(auth\.other\.org\)/,
    );
    assert.equal(parseConfig({ COOKIE_DOMAIN: "example.com", PUBLIC_URL: "https://auth.example.com" }, "/").cookieDomain, "example.com");
  });

  it("is the Domain of the session cookie, its clearing and the known-device cookie", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", COOKIE_DOMAIN: ".example.com" } });
    await t.seed("bob@hbtn.io", PASSWORD);
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
    const cookies = login.headers.getSetCookie();
    assert.equal(cookies.length, 2);
    for (const c of cookies) assert.match(c, /; Domain=example\.com;/, c);
    const cookie = cookieOf(login);
    const out = await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { Cookie: cookie } });
    assert.match(out.headers.get("set-cookie") ?? "", /^_my_session_id=; Path=\/; Domain=example\.com; Max-Age=0/);
    const dead = await t.request(CHECK, { headers: { Cookie: cookie } });
    assert.match(dead.headers.get("set-cookie") ?? "", /Domain=example\.com; Max-Age=0/);
  });

  it("unset, every cookie stays host-only", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    await t.seed("bob@hbtn.io", PASSWORD);
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
    for (const c of login.headers.getSetCookie()) assert.doesNotMatch(c, /Domain=/i);
  });
});
