import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basic, cookieOf, fakeClock, testApp, testHasher } from "./helpers/app.ts";
import { RUNTIME, runToEnd, tsCommand } from "./helpers/server.ts";
import { parseConfig } from "../src/app/config.ts";
import { exposureWarning } from "../src/app/boot.ts";
import { StartupError } from "../src/domain/errors.ts";
import { emptyAccount } from "../src/domain/accounts.ts";
import type { PasswordHasher } from "../src/domain/passwords.ts";

/**
 * What protects accounts beyond the original: the password policy, the
 * known-device exemption from the account-wide throttle, the security
 * headers, credentialed CORS, ACCESS_POLICY=self, the audit and access logs.
 */

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** testHasher, counting the password checks that reach it. */
function countingHasher(): PasswordHasher & { checks: () => number } {
  let checks = 0;
  return {
    hash: (p) => testHasher.hash(p),
    verify: (p, stored) => {
      checks++;
      return testHasher.verify(p, stored);
    },
    burn: (p) => {
      checks++;
      return testHasher.burn(p);
    },
    checks: () => checks,
  };
}

const error = async (r: Response) => ((await r.json()) as { error: string }).error;

describe("password policy", () => {
  it("sign-up refuses the most common passwords (any case) and passwords containing the email's name", async () => {
    const t = testApp();
    for (const password of ["password", "12345678", "PassWord", "iloveyou", "sunshine"]) {
      const r = await t.json("/api/v1/users", "POST", { email: "ann@hbtn.io", password });
      assert.equal(r.status, 400, password);
      assert.match(await error(r), /^Can't create User: password is too common/, password);
    }
    const named = await t.json("/api/v1/users", "POST", { email: "Robert.Smith@hbtn.io", password: "xx-robert.smith-2024" });
    assert.equal(named.status, 400);
    assert.equal(await error(named), "Can't create User: password contains the email's name");
    // A two-letter name is no signal: "bo" is inside too many good passwords.
    assert.equal((await t.json("/api/v1/users", "POST", { email: "bo@hbtn.io", password: "Bottle-of-ink-7" })).status, 201);
    assert.equal((await t.json("/api/v1/users", "POST", { email: "ann@hbtn.io", password: "correct-Horse-9" })).status, 201);
    assert.equal((await t.driver.listUsers()).length, 2, "nothing stored for a refused sign-up");
  });

  it("a password change obeys the same rules", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    await t.seed("ann@hbtn.io", "correct-Horse-9");
    const auth = { Authorization: basic("ann@hbtn.io", "correct-Horse-9") };
    const change = (new_password: string) =>
      t.json("/api/v1/users/me/password", "PUT", { current_password: "correct-Horse-9", new_password }, auth);
    const common = await change("qwerty123");
    assert.equal(common.status, 400);
    assert.match(await error(common), /password is too common/);
    const named = await change("i-am-ann-2024");
    assert.equal(named.status, 400);
    assert.match(await error(named), /password contains the email's name/);
    assert.equal((await change("Tr0mbone-Sky-4")).status, 200);
  });
});

describe("known devices and the account-wide limit", () => {
  it("1,000 guesses from 50 addresses: at most 100 checks an hour, and the owner's browser still logs in", async () => {
    const clock = fakeClock();
    const hasher = countingHasher();
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true" }, now: clock.now, hasher });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const login = (password: string, headers: Record<string, string>) =>
      t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password }, headers);

    // The owner logged in from this browser before: it holds the known-device cookie.
    const first = await login("correct-Horse-9", { "X-Forwarded-For": "198.51.100.1" });
    assert.equal(first.status, 200);
    const device = first.headers.getSetCookie().find((c) => c.startsWith("_my_session_id_device="));
    assert.ok(device, first.headers.getSetCookie().join(" | "));
    assert.match(device, /; Path=\/api\/v1; Max-Age=15552000; HttpOnly; SameSite=Lax$/);
    const deviceCookie = device.split(";")[0];

    const before = hasher.checks();
    for (let i = 0; i < 1000; i++) {
      const r = await login(`guess-${i}`, { "X-Forwarded-For": `192.0.2.${i % 50}` });
      assert.ok(r.status === 401 || r.status === 429, String(r.status));
      clock.advance(1000);
    }
    const guessed = hasher.checks() - before;
    assert.ok(guessed <= 100 && guessed >= 90, `${guessed} guesses reached the password check`);

    // A browser without the cookie (or with a forged one) is refused, even with the right password...
    const stranger = await login("correct-Horse-9", { "X-Forwarded-For": "198.51.100.2" });
    assert.equal(stranger.status, 429);
    assert.ok(Number(stranger.headers.get("retry-after")) > 0);
    const forged = deviceCookie.replace(/\.[A-Za-z0-9_-]{4}/, ".AAAA");
    assert.equal((await login("correct-Horse-9", { "X-Forwarded-For": "198.51.100.2", Cookie: forged })).status, 429);
    // ...while the owner's browser logs in, even from an address the attacker used.
    const owner = await login("correct-Horse-9", { "X-Forwarded-For": "192.0.2.7", Cookie: deviceCookie });
    assert.equal(owner.status, 200, await owner.clone().text());
    // A known device that guesses wrong is still throttled on its own.
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await login(`typo-${i}`, { Cookie: deviceCookie })).status);
    assert.deepEqual(statuses, [...Array(20).fill(401), 429]);
  });

  it("a password change makes every device unknown again, but the browser that changed it", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true" }, now: clock.now });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const login = (password: string, headers: Record<string, string>) =>
      t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password }, headers);
    const deviceOf = (r: Response) => r.headers.getSetCookie().find((c) => c.startsWith("_my_session_id_device="))!.split(";")[0];
    const laptop = await login("correct-Horse-9", { "X-Forwarded-For": "198.51.100.1" });
    const phone = await login("correct-Horse-9", { "X-Forwarded-For": "198.51.100.2" });
    const change = await t.json(
      "/api/v1/users/me/password",
      "PUT",
      { current_password: "correct-Horse-9", new_password: "Tr0mbone-Sky-4" },
      { Cookie: `${cookieOf(laptop)}; ${deviceOf(laptop)}`, "X-Forwarded-For": "198.51.100.1" },
    );
    assert.equal(change.status, 200);
    const laptopAfter = deviceOf(change);
    // Use up the account's hourly allowance from many addresses.
    for (let i = 0; i < 150; i++) await login(`guess-${i}`, { "X-Forwarded-For": `192.0.2.${i % 50}` });
    assert.equal((await login("Tr0mbone-Sky-4", { Cookie: deviceOf(phone) })).status, 429, "the old password's device proof is void");
    assert.equal((await login("Tr0mbone-Sky-4", { Cookie: laptopAfter })).status, 200);
  });
});

describe("known addresses under Basic auth", () => {
  it("150 guesses from rotating addresses: the owner's address still authenticates, an unknown one gets 429", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "basic_auth", TRUST_PROXY: "true" }, now: clock.now });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const me = (password: string, from: string) =>
      t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", password), "X-Forwarded-For": from } });
    // The owner's script authenticated from its address before (curl keeps no cookies).
    assert.equal((await me("correct-Horse-9", "198.51.100.1")).status, 200);
    for (let i = 0; i < 150; i++) {
      const r = await me(`guess-${i}`, `192.0.2.${i % 50}`);
      assert.ok(r.status === 403 || r.status === 429, String(r.status));
      clock.advance(1000);
    }
    // Past the credential cache's lifetime: each answer below is a real, throttled password check.
    clock.advance(6 * 60_000);
    const stranger = await me("correct-Horse-9", "198.51.100.2");
    assert.equal(stranger.status, 429, "the account-wide limit holds for everyone else");
    assert.ok(Number(stranger.headers.get("retry-after")) > 0);
    const owner = await me("correct-Horse-9", "198.51.100.1");
    assert.equal(owner.status, 200, await owner.clone().text());
    // A known address that guesses wrong is checked (403), not let in.
    assert.equal((await me("not-the-password-1", "198.51.100.1")).status, 403);
  });

  it("only the newest 10 addresses stay known", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "basic_auth", TRUST_PROXY: "true" }, now: clock.now });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const me = (password: string, from: string) =>
      t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", password), "X-Forwarded-For": from } });
    for (let i = 1; i <= 11; i++) {
      assert.equal((await me("correct-Horse-9", `198.51.100.${i}`)).status, 200);
      // Past the credential cache's lifetime, so that each success is a real check.
      clock.advance(6 * 60_000);
    }
    for (let i = 0; i < 120; i++) await me(`guess-${i}`, `192.0.2.${i % 50}`);
    clock.advance(6 * 60_000);
    assert.equal((await me("correct-Horse-9", "198.51.100.1")).status, 429, "the oldest address was forgotten");
    assert.equal((await me("correct-Horse-9", "198.51.100.2")).status, 200);
    assert.equal((await me("correct-Horse-9", "198.51.100.11")).status, 200);
  });
});

describe("security headers", () => {
  it("every answer carries nosniff, no referrer and no-store: successes, errors, outside /api/v1 too", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "correct-Horse-9" });
    const cookie = cookieOf(login);
    const answers = [
      login,
      await t.request("/api/v1/status"),
      await t.request("/api/v1/users/me", { headers: { Cookie: cookie } }),
      await t.request("/api/v1/users", { headers: { Cookie: cookie } }),
      await t.request("/api/v1/users"),
      await t.request("/api/v1/users/me", { headers: { Cookie: "_my_session_id=nope" } }),
      await t.request("/api/v1/nowhere", { headers: { Cookie: cookie } }),
      await t.request("/api/v1/status", { method: "POST" }),
      await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong-one-1" }),
      await t.request("/elsewhere"),
      await t.request("/api/v1/users", {
        method: "OPTIONS",
        headers: { Origin: "https://a.example", "Access-Control-Request-Method": "POST" },
      }),
    ];
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 401, 403, 404, 405, 401, 401, 200]);
    for (const r of answers) {
      assert.equal(r.headers.get("x-content-type-options"), "nosniff", r.url);
      assert.equal(r.headers.get("referrer-policy"), "no-referrer", r.url);
      assert.equal(r.headers.get("cache-control"), "no-store", r.url);
    }
  });
});

describe("CORS_ORIGINS: credentialed CORS for listed origins", () => {
  const APP = "http://localhost:5173";
  async function setUp() {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", CORS_ORIGINS: `${APP}, https://admin.example.com` } });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    return t;
  }

  it("a listed origin is echoed with Allow-Credentials; any other keeps the original's headers", async () => {
    const t = await setUp();
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "correct-Horse-9" }, {
      Origin: APP,
      "Sec-Fetch-Site": "same-site",
    });
    assert.equal(login.status, 200);
    assert.equal(login.headers.get("access-control-allow-origin"), APP);
    assert.equal(login.headers.get("access-control-allow-credentials"), "true");
    assert.equal(login.headers.get("vary"), "Origin");
    const other = await t.request("/api/v1/status", { headers: { Origin: "https://elsewhere.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), "https://elsewhere.example");
    assert.equal(other.headers.get("access-control-allow-credentials"), null);
    const none = await t.request("/api/v1/status");
    assert.equal(none.headers.get("access-control-allow-origin"), "*");
    assert.equal(none.headers.get("access-control-allow-credentials"), null);
    // Errors carry them too: the page must be able to read why.
    const denied = await t.request("/api/v1/users/me", { headers: { Origin: APP } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("access-control-allow-credentials"), "true");
  });

  it("the preflight of a listed origin allows the path's methods, Content-Type and credentials", async () => {
    const t = await setUp();
    const r = await t.request("/api/v1/users/me/password", {
      method: "OPTIONS",
      headers: { Origin: APP, "Access-Control-Request-Method": "PUT" },
    });
    assert.ok(r.status < 300, String(r.status));
    assert.equal(r.headers.get("access-control-allow-origin"), APP);
    assert.equal(r.headers.get("access-control-allow-credentials"), "true");
    assert.match(r.headers.get("access-control-allow-methods") ?? "", /\bPUT\b/);
    assert.match(r.headers.get("access-control-allow-headers") ?? "", /content-type/i);
    const other = await t.request("/api/v1/users/me/password", {
      method: "OPTIONS",
      headers: { Origin: "https://elsewhere.example", "Access-Control-Request-Method": "PUT" },
    });
    assert.equal(other.headers.get("access-control-allow-credentials"), null);
  });

  it("a listed origin passes the cross-site check; others do not", async () => {
    const t = await setUp();
    const cross = { Origin: APP, "Sec-Fetch-Site": "cross-site" };
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "correct-Horse-9" }, cross);
    assert.equal(login.status, 200);
    const cookie = cookieOf(login);
    const evil = { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site", Cookie: cookie };
    assert.equal((await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: evil })).status, 403);
    assert.equal((await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { ...cross, Cookie: cookie } })).status, 200);
  });

  it("refuses what is not an origin", () => {
    for (const bad of ["localhost:5173", "http://app.example/path", "ftp://x.example", "https://a.example,,nope"]) {
      assert.throws(
        () => parseConfig({ CORS_ORIGINS: bad }, "/"),
        (e: unknown) => e instanceof StartupError && /CORS_ORIGINS/.test(e.message),
        bad,
      );
    }
    assert.deepEqual(parseConfig({ CORS_ORIGINS: " https://a.example , http://b.example:8080 " }, "/").corsOrigins, [
      "https://a.example",
      "http://b.example:8080",
    ]);
  });
});

describe("ACCESS_POLICY=self", () => {
  async function setUp() {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth", ACCESS_POLICY: "self", ADMIN_EMAILS: "Root@hbtn.io" } });
    const ann = await t.seed("ann@hbtn.io", "correct-Horse-9");
    const bob = await t.seed("bob@hbtn.io", "correct-Horse-9");
    const root = await t.seed("root@hbtn.io", "correct-Horse-9");
    // The operator's grant (what `cli user admin` stores): the address alone proves nothing.
    await t.driver.putAccount({ ...emptyAccount(root.id), admin_granted_at: "2025-01-01T00:00:00", admin_email: "root@hbtn.io" });
    const as = (email: string) => ({ Authorization: basic(email, "correct-Horse-9") });
    return { t, ann, bob, root, as };
  }

  it("a user sees, changes and deletes only itself", async () => {
    const { t, ann, bob, as } = await setUp();
    const list = await t.request("/api/v1/users", { headers: as("ann@hbtn.io") });
    assert.deepEqual(((await list.json()) as { id: string }[]).map((u) => u.id), [ann.id]);
    assert.equal((await t.request(`/api/v1/users/${ann.id}`, { headers: as("ann@hbtn.io") })).status, 200);
    assert.equal((await t.request("/api/v1/users/me", { headers: as("ann@hbtn.io") })).status, 200);
    for (const method of ["GET", "PUT", "DELETE"]) {
      const r = await t.request(`/api/v1/users/${bob.id}`, {
        method,
        headers: { ...as("ann@hbtn.io"), "content-type": "application/json" },
        body: method === "PUT" ? JSON.stringify({ first_name: "Mallory" }) : undefined,
      });
      assert.equal(r.status, 403, method);
      assert.deepEqual(await r.json(), { error: "Forbidden" });
    }
    assert.equal((await t.driver.getUser(bob.id))?.first_name, null, "bob unchanged");
    const renamed = await t.json(`/api/v1/users/${ann.id}`, "PUT", { first_name: "Ann" }, as("ann@hbtn.io"));
    assert.equal(renamed.status, 200);
  });

  it("an admin (ADMIN_EMAILS, any case, granted by the operator) does everything", async () => {
    const { t, bob, as } = await setUp();
    const list = await t.request("/api/v1/users", { headers: as("root@hbtn.io") });
    assert.equal(((await list.json()) as unknown[]).length, 3);
    assert.equal((await t.request(`/api/v1/users/${bob.id}`, { headers: as("root@hbtn.io") })).status, 200);
    assert.equal((await t.json(`/api/v1/users/${bob.id}`, "PUT", { last_name: "B" }, as("root@hbtn.io"))).status, 200);
    assert.equal((await t.request(`/api/v1/users/${bob.id}`, { method: "DELETE", headers: as("root@hbtn.io") })).status, 200);
    assert.equal(await t.driver.getUser(bob.id), null);
  });

  it("open stays the default; self without AUTH_TYPE is refused at startup", async () => {
    const open = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    await open.seed("ann@hbtn.io", "correct-Horse-9");
    const bob = await open.seed("bob@hbtn.io", "correct-Horse-9");
    assert.equal(
      (await open.request(`/api/v1/users/${bob.id}`, { headers: { Authorization: basic("ann@hbtn.io", "correct-Horse-9") } })).status,
      200,
    );
    assert.throws(
      () => parseConfig({ ACCESS_POLICY: "self" }, "/"),
      (e: unknown) => e instanceof StartupError && /ACCESS_POLICY/.test(e.message) && /AUTH_TYPE/.test(e.message),
    );
    assert.throws(() => parseConfig({ AUTH_TYPE: "basic_auth", ACCESS_POLICY: "mine" }, "/"), StartupError);
  });
});

describe("audit and access logs", () => {
  it("each authentication event is one JSON line with time, client, user and a salted session hash; no secrets", async () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const t = testApp({
      env: { AUTH_TYPE: "session_db_auth", LOG_FORMAT: "json", TRUST_PROXY: "true" },
      now: clock.now,
      logLines: lines,
    });
    const ip = { "X-Forwarded-For": "203.0.113.5" };
    const signup = await t.json("/api/v1/users", "POST", { email: "eve@hbtn.io", password: "Tr0mbone-Sky-4" }, ip);
    assert.equal(signup.status, 401, "sign-up needs a session under session_db_auth");
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "correct-Horse-9" }, ip);
    const cookie = cookieOf(login);
    const token = cookie.split("=")[1];
    await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong-Secret-1" }, ip);
    await t.form("/api/v1/auth_session/login", { email: "nobody@hbtn.io", password: "wrong-Secret-2" }, ip);
    const created = await t.json("/api/v1/users", "POST", { email: "eve@hbtn.io", password: "Tr0mbone-Sky-4" }, { ...ip, Cookie: cookie });
    const eve = (await created.json()) as { id: string };
    const second = cookieOf(await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "correct-Horse-9" }, ip));
    await t.json(
      "/api/v1/users/me/password",
      "PUT",
      { current_password: "correct-Horse-9", new_password: "Tr0mbone-Sky-5" },
      { ...ip, Cookie: cookie },
    );
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: second } })).status, 403, "the other session ended");
    await t.request(`/api/v1/users/${eve.id}`, { method: "DELETE", headers: { ...ip, Cookie: cookie } });
    for (let i = 0; i < 21; i++) await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: `guess-${i}-x` }, ip);
    await t.request("/api/v1/auth_session/logout", { method: "DELETE", headers: { ...ip, Cookie: cookie } });

    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const auth = records.filter((r) => r.msg === "auth");
    const events = auth.map((r) => r.event);
    for (const e of ["signup", "login", "login_failed", "password_changed", "user_deleted", "throttled", "logout"]) {
      assert.ok(events.includes(e), `${e} in ${events.join(",")}`);
    }
    for (const r of auth) {
      assert.match(String(r.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(r.client, "203.0.113.5", JSON.stringify(r));
    }
    const bob = (await t.driver.findUserByEmail("bob@hbtn.io"))!;
    const logins = auth.filter((r) => r.event === "login");
    assert.equal(logins[0].user_id, bob.id);
    assert.match(String(logins[0].session), /^[0-9a-f]{16}$/);
    const logout = auth.find((r) => r.event === "logout")!;
    assert.equal(logout.session, logins[0].session, "one session, one hash: it can be followed through the log");
    assert.notEqual(logins[1].session, logins[0].session);
    const failures = auth.filter((r) => r.event === "login_failed").map((r) => [r.user_id ?? null, r.reason]);
    assert.deepEqual(failures.slice(0, 2), [[bob.id, "wrong password"], [null, "unknown email"]]);
    assert.deepEqual(auth.find((r) => r.event === "user_deleted")!.target, eve.id);
    const stored = (await t.driver.listUserSessions(bob.id)).map((s) => s.session_id);
    const secrets = ["correct-Horse-9", "Tr0mbone-Sky-5", "wrong-Secret-1", token, second.split("=")[1], bob._password!, ...stored];
    for (const line of lines) for (const s of secrets) assert.ok(!line.includes(s), `a secret in: ${line}`);
  });

  it("one access line per request: method, path without query, status, time, client; never cookies or credentials", async () => {
    const lines: string[] = [];
    const t = testApp({ env: { AUTH_TYPE: "basic_auth", LOG_FORMAT: "json", TRUST_PROXY: "true" }, logLines: lines });
    await t.seed("bob@hbtn.io", "correct-Horse-9");
    const auth = basic("bob@hbtn.io", "correct-Horse-9");
    await t.request("/api/v1/users/me?token=s3cr3t-query", {
      headers: { Authorization: auth, Cookie: "x=cookie-value", "X-Forwarded-For": "198.51.100.4" },
    });
    await t.request("/api/v1/nowhere", { headers: { "X-Forwarded-For": "198.51.100.4" } });
    await t.json("/api/v1/users", "POST", { email: "x@hbtn.io", password: "body-Secret-99" }, {
      Authorization: auth,
      "X-Forwarded-For": "198.51.100.4",
    });
    const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "access");
    assert.deepEqual(access.map((r) => [r.method, r.path, r.status, r.client]), [
      ["GET", "/api/v1/users/me", 200, "198.51.100.4"],
      ["GET", "/api/v1/nowhere", 401, "198.51.100.4"],
      ["POST", "/api/v1/users", 201, "198.51.100.4"],
    ]);
    for (const r of access) assert.equal(typeof r.ms, "number");
    for (const line of lines) {
      for (const s of ["s3cr3t-query", "cookie-value", auth.slice(6), "correct-Horse-9", "body-Secret-99"]) {
        assert.ok(!line.includes(s), `${s} in ${line}`);
      }
    }
  });

  it("text format: key=value pairs; LOG_LEVEL=warn drops access and auth lines", async () => {
    const lines: string[] = [];
    const t = testApp({ env: {}, logLines: lines });
    await t.request("/api/v1/status");
    assert.match(lines[0], /^\S+Z info access method=GET path=\/api\/v1\/status status=200 ms=[\d.]+ client=\S+$/);
    const quiet: string[] = [];
    const q = testApp({ env: { LOG_LEVEL: "warn" }, logLines: quiet });
    await q.request("/api/v1/status");
    assert.deepEqual(quiet, []);
  });
});

describe("startup warning for an open server beyond this machine", () => {
  it("names the risk when AUTH_TYPE is unset and API_HOST is not loopback", () => {
    const warn = (env: Record<string, string>) => exposureWarning(parseConfig(env, "/"));
    assert.match(
      warn({}) ?? "",
      /AUTH_TYPE is unset and API_HOST is 0\.0\.0\.0: anyone who can reach port 5000 can read, change and delete every user/,
    );
    assert.match(warn({ API_HOST: "192.168.1.20", API_PORT: "8080" }) ?? "", /API_HOST is 192\.168\.1\.20: anyone who can reach port 8080/);
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.equal(warn({ API_HOST: host }), null, host);
    assert.equal(warn({ AUTH_TYPE: "basic_auth" }), null);
  });

  it("the real server prints it before it binds (an address it cannot bind, so nothing is exposed)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "exposure-"));
    dirs.push(dir);
    const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
    // 192.0.2.1 is TEST-NET-1: never an address of this machine, so the bind fails.
    const r = await runToEnd(bin, args, { API_HOST: "192.0.2.1", API_PORT: "0", DATA_DIR: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /warn AUTH_TYPE is unset and API_HOST is 192\.0\.2\.1: anyone who can reach port 0/);
    assert.match(r.stderr, /error: Cannot listen on 192\.0\.2\.1:0/);
    const safe = await runToEnd(bin, args, { API_HOST: "192.0.2.1", API_PORT: "0", DATA_DIR: dir, AUTH_TYPE: "basic_auth" });
    assert.doesNotMatch(safe.stderr, /anyone who can reach/);
  });
});
