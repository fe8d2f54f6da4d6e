import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cookieOf, fakeClock, testApp } from "./helpers/app.ts";
import { sha256Hex } from "../src/lib/sha256.ts";

async function loggedIn(env: Record<string, string>, now?: () => number) {
  const t = testApp({ env, now });
  const user = await t.seed("bob@hbtn.io", "H0lbertonSchool98!", { first_name: "Bob" });
  const r = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "H0lbertonSchool98!" });
  assert.equal(r.status, 200);
  return { t, user, cookie: cookieOf(r), res: r };
}

for (const authType of ["session_auth", "session_exp_auth", "session_db_auth"]) {
  describe(`${authType}`, () => {
    const env = { AUTH_TYPE: authType };

    it("logs in with form fields and sets a hardened cookie", async () => {
      const { user, res } = await loggedIn(env);
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ["created_at", "email", "first_name", "id", "last_name", "updated_at"]);
      assert.equal(body.id, user.id);
      const sc = res.headers.get("set-cookie")!;
      const [nameValue, ...attrs] = sc.split(";").map((s) => s.trim());
      const [name, token] = nameValue.split("=");
      assert.equal(name, "_my_session_id");
      // 256 bits, base64url.
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(attrs.includes("HttpOnly"));
      assert.ok(attrs.includes("Path=/"));
      assert.ok(attrs.includes("SameSite=Lax"));
      assert.ok(!attrs.includes("Secure"));
    });

    it("the cookie authenticates, /users/me returns the user", async () => {
      const { t, user, cookie } = await loggedIn(env);
      const r = await t.request("/api/v1/users/me", { headers: { Cookie: cookie } });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { id: string }).id, user.id);
      assert.equal((await t.request("/api/v1/users", { headers: { Cookie: `other=1; ${cookie}; x=y` } })).status, 200);
    });

    it("follows the 401/403 steps", async () => {
      const { t } = await loggedIn(env);
      assert.equal((await t.request("/api/v1/users")).status, 401);
      assert.equal((await t.request("/api/v1/users", { headers: { Cookie: "_my_session_id=" } })).status, 401);
      assert.equal((await t.request("/api/v1/users", { headers: { Cookie: "_my_session_id=unknown" } })).status, 403);
      assert.equal((await t.request("/api/v1/users", { headers: { Cookie: "_my_session_id=%%%;;;" } })).status, 403);
      assert.equal(
        (await t.request("/api/v1/users", { headers: { Authorization: "Basic Ym9iQGhidG4uaW86SDBsYmVydG9uU2Nob29sOTgh" } })).status,
        403,
      );
    });

    it("uses SESSION_NAME for the cookie", async () => {
      const { t, cookie } = await loggedIn({ ...env, SESSION_NAME: "sid" });
      assert.match(cookie, /^sid=/);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 200);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie.replace("sid=", "_my_session_id=") } })).status, 401);
    });

    it("login answers the original's errors in order, and one message for unknown email or wrong password", async () => {
      const t = testApp({ env });
      await t.seed("bob@hbtn.io", "Passw0rd-123");
      const cases: [Record<string, string>, number, string][] = [
        [{}, 400, "email missing"],
        [{ email: "", password: "x" }, 400, "email missing"],
        [{ email: "bob@hbtn.io" }, 400, "password missing"],
        [{ email: "bob@hbtn.io", password: "" }, 400, "password missing"],
        [{ email: "nobody@hbtn.io", password: "Passw0rd-123" }, 401, "invalid email or password"],
        [{ email: "bob@hbtn.io", password: "wrong" }, 401, "invalid email or password"],
      ];
      for (const [fields, status, error] of cases) {
        const r = await t.form("/api/v1/auth_session/login", fields);
        assert.equal(r.status, status, JSON.stringify(fields));
        assert.deepEqual(await r.json(), { error });
        assert.equal(r.headers.get("set-cookie"), null);
      }
    });

    it("login reads form fields or a JSON object; the query string is ignored", async () => {
      const t = testApp({ env });
      await t.seed("bob@hbtn.io", "Passw0rd-123");
      const json = await t.json("/api/v1/auth_session/login", "POST", { email: "bob@hbtn.io", password: "Passw0rd-123" });
      assert.equal(json.status, 200);
      assert.match(json.headers.get("set-cookie") ?? "", /^_my_session_id=/);
      assert.equal(((await json.json()) as { email: string }).email, "bob@hbtn.io");
      const typed = await t.request("/api/v1/auth_session/login", {
        method: "POST",
        headers: { "content-type": "application/vnd.api+json; charset=utf-8" },
        body: JSON.stringify({ email: "bob@hbtn.io", password: "Passw0rd-123" }),
      });
      assert.equal(typed.status, 200);
      for (
        const [body, error] of [[{ email: 5, password: "Passw0rd-123" }, "email missing"], [{ email: "bob@hbtn.io" }, "password missing"], [
          {},
          "email missing",
        ]] as const
      ) {
        const r = await t.json("/api/v1/auth_session/login", "POST", body);
        assert.deepEqual([r.status, await r.json()], [400, { error }], JSON.stringify(body));
      }
      for (const raw of ["[1]", "null", "{", '"x"']) {
        const r = await t.request("/api/v1/auth_session/login", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: raw,
        });
        assert.deepEqual([r.status, await r.json()], [400, { error: "Wrong format" }], raw);
      }
      const q = await t.request("/api/v1/auth_session/login?email=bob@hbtn.io&password=password123", { method: "POST" });
      assert.equal(q.status, 400);
      const fd = new FormData();
      fd.set("email", "bob@hbtn.io");
      fd.set("password", "Passw0rd-123");
      const multi = await t.request("/api/v1/auth_session/login", { method: "POST", body: fd });
      assert.equal(multi.status, 200);
      const broken = await t.request("/api/v1/auth_session/login", {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=x" },
        body: "garbage",
      });
      assert.equal(broken.status, 400);
    });

    it("every login starts a new session; logout ends only that one and clears the cookie", async () => {
      const { t, cookie } = await loggedIn(env);
      const again = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "H0lbertonSchool98!" }, {
        Cookie: cookie,
      });
      const cookie2 = cookieOf(again);
      assert.notEqual(cookie2, cookie);
      const out = await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { Cookie: cookie } });
      assert.equal(out.status, 200);
      assert.deepEqual(await out.json(), {});
      const cleared = out.headers.get("set-cookie") ?? "";
      assert.match(cleared, /^_my_session_id=;/);
      assert.match(cleared, /Max-Age=0/);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 403);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie2 } })).status, 200);
      // Logging out twice: the session is gone.
      assert.equal((await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { Cookie: cookie } })).status, 403);
      assert.equal((await t.request("/api/v1/auth_session/logout", { method: "DELETE" })).status, 401);
    });

    it("serves the seed README's aliases", async () => {
      const t = testApp({ env });
      await t.seed("bob@hbtn.io", "Passw0rd-123");
      const r = await t.form("/api/v1/auth_session", { email: "bob@hbtn.io", password: "Passw0rd-123" });
      assert.equal(r.status, 200);
      const cookie = cookieOf(r);
      assert.equal((await t.request("/api/v1/auth_session", { method: "DELETE" })).status, 401);
      assert.equal((await t.request("/api/v1/auth_session", { method: "DELETE", headers: { Cookie: "_my_session_id=nope" } })).status, 403);
      assert.equal((await t.request("/api/v1/auth_session/", { method: "DELETE", headers: { Cookie: cookie } })).status, 200);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 403);
    });

    it("deleting a user ends its sessions", async () => {
      const { t, user, cookie } = await loggedIn(env);
      const other = await t.seed("eve@x.io", "Passw0rd-123");
      const r = await t.form("/api/v1/auth_session/login", { email: "eve@x.io", password: "Passw0rd-123" });
      const eve = cookieOf(r);
      assert.equal((await t.request(`/api/v1/users/${user.id}`, { method: "DELETE", headers: { Cookie: eve } })).status, 200);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 403);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: eve } })).status, 200);
      // Recreating the email does not revive the old session.
      await t.seed("bob@hbtn.io", "H0lbertonSchool98!");
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 403);
      void other;
    });

    it("refuses cookie-authenticated unsafe requests from another site, not curl", async () => {
      const { t, user, cookie } = await loggedIn(env);
      const put = (headers: Record<string, string>) =>
        t.json(`/api/v1/users/${user.id}`, "PUT", { first_name: "X" }, { Cookie: cookie, ...headers });
      assert.equal((await put({ "Sec-Fetch-Site": "cross-site" })).status, 403);
      assert.equal((await put({ Origin: "https://evil.example" })).status, 403);
      assert.equal((await put({ Origin: "null" })).status, 403);
      assert.equal((await put({})).status, 200);
      assert.equal((await put({ "Sec-Fetch-Site": "same-origin", Origin: "http://localhost" })).status, 200);
      // Safe methods from another site are fine (CORS decides what the page may read).
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie, "Sec-Fetch-Site": "cross-site" } })).status, 200);
      const trusted = testApp({ env: { ...env, TRUSTED_ORIGINS: "https://app.example" } });
      const u = await trusted.seed("t@x.io", "Passw0rd-123");
      const c = cookieOf(await trusted.form("/api/v1/auth_session/login", { email: "t@x.io", password: "Passw0rd-123" }));
      assert.equal((await trusted.json(`/api/v1/users/${u.id}`, "PUT", {}, { Cookie: c, Origin: "https://app.example" })).status, 200);
    });

    it("sets Secure over HTTPS", async () => {
      const t = testApp({ env });
      await t.seed("bob@hbtn.io", "Passw0rd-123");
      const r = await t.app.request("https://api.example/api/v1/auth_session/login", {
        method: "POST",
        body: new URLSearchParams({ email: "bob@hbtn.io", password: "Passw0rd-123" }),
      });
      assert.match(r.headers.get("set-cookie") ?? "", /; Secure/);
    });
  });
}

describe("session expiry", () => {
  it("session_exp_auth expires SESSION_DURATION seconds after creation (injected clock)", async () => {
    const clock = fakeClock();
    const { t, cookie } = await loggedIn({ AUTH_TYPE: "session_exp_auth", SESSION_DURATION: " 60 " }, clock.now);
    clock.advance(60_000);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 200);
    clock.advance(1);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 403);
    assert.equal((await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { Cookie: cookie } })).status, 403);
  });

  it("session_db_auth expires too, and 0 or negative means never", async () => {
    for (const [duration, alive] of [["30", false], ["0", true], ["-5", true]] as const) {
      const clock = fakeClock();
      const { t, cookie } = await loggedIn({ AUTH_TYPE: "session_db_auth", SESSION_DURATION: duration }, clock.now);
      clock.advance(31_000);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, alive ? 200 : 403, duration);
    }
  });

  it("session_auth never expires, whatever SESSION_DURATION says", async () => {
    const clock = fakeClock();
    const { t, cookie } = await loggedIn({ AUTH_TYPE: "session_auth", SESSION_DURATION: "1" }, clock.now);
    clock.advance(10 * 24 * 3600 * 1000);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 200);
  });

  it("a stored session past its duration is expired even when this process did not create it", async () => {
    const clock = fakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", SESSION_DURATION: "60" }, now: clock.now });
    const u = await t.seed("bob@hbtn.io");
    await t.driver.createSession({
      id: "s",
      created_at: "2025-01-01T11:59:30",
      updated_at: "2025-01-01T11:59:30",
      user_id: u.id,
      session_id: sha256Hex("legacy-token"),
    }, null);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: "_my_session_id=legacy-token" } })).status, 200);
    clock.advance(31_000);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: "_my_session_id=legacy-token" } })).status, 403);
  });
});

describe("session_db_auth storage", () => {
  it("stores only the SHA-256 of the token", async () => {
    const { t, user, cookie } = await loggedIn({ AUTH_TYPE: "session_db_auth" });
    const token = cookie.split("=")[1];
    const s = await t.driver.getSession(sha256Hex(token));
    assert.ok(s);
    assert.equal(s.user_id, user.id);
    assert.equal(await t.driver.getSession(token), null);
    assert.deepEqual(Object.keys(s), ["id", "created_at", "updated_at", "user_id", "session_id", "last_seen_at", "ip", "user_agent"]);
  });

  it("session_auth keeps sessions out of the storage", async () => {
    const { t, cookie } = await loggedIn({ AUTH_TYPE: "session_auth" });
    assert.equal(await t.driver.getSession(sha256Hex(cookie.split("=")[1])), null);
  });
});

describe("login throttling", () => {
  it("answers 429 with Retry-After after repeated failures for one account from one client, then lets it try again", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "session_auth" }, now: clock.now });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    let r: Response | null = null;
    let statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      r = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong" });
      statuses.push(r.status);
    }
    assert.ok(statuses.slice(0, 19).every((s) => s === 401), statuses.join());
    assert.equal(r!.status, 429);
    const retry = Number(r!.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 60, String(retry));
    assert.match(((await r!.json()) as { error: string }).error, /Too many/);
    // Even the right password waits while blocked...
    assert.equal((await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "Passw0rd-123" })).status, 429);
    // ...but not for long: after the wait it goes through and clears the record.
    clock.advance(retry * 1000);
    assert.equal((await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "Passw0rd-123" })).status, 200);
    statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong" })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401]);
  });

  it("another client is not locked out by someone else's failures", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "session_auth", TRUST_PROXY: "true" }, now: clock.now });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    for (let i = 0; i < 25; i++) {
      await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong" }, { "X-Forwarded-For": "203.0.113.9" });
    }
    assert.equal(
      (await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong" }, { "X-Forwarded-For": "203.0.113.9" }))
        .status,
      429,
    );
    assert.equal(
      (await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "Passw0rd-123" }, {
        "X-Forwarded-For": "198.51.100.7",
      }))
        .status,
      200,
    );
  });
});
