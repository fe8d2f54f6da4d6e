import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { basic, cookieOf, fakeClock, testApp } from "./helpers/app.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";
import { everyStorage } from "./helpers/storages.ts";

/**
 * Session management through the API, on every storage the driver contract
 * covers: listing and ending one's sessions, ending all the others, changing
 * the password, idle and absolute timeouts (injected clock, no sleeping).
 */

const storages = everyStorage("sessions");

const PASSWORD = "correct-Horse-9";
const SESSION_KEYS = ["id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current"];

async function setUp(storage: string, env: Record<string, string>, clock = fakeClock(Date.now())) {
  const driver = await storages[storage](clock.now);
  const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true", ...env }, driver, now: clock.now });
  const user = await t.seed("bob@hbtn.io", PASSWORD);
  let client = 0;
  const login = async (userAgent = "test-agent/1.0", password = PASSWORD) => {
    // Each login from its own address: one client may have only a few password checks in flight.
    const headers = { "User-Agent": userAgent, "X-Forwarded-For": `192.0.2.${++client % 250}` };
    const r = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password }, headers);
    assert.equal(r.status, 200, await r.clone().text());
    return cookieOf(r);
  };
  const get = (path: string, cookie: string) => t.request(path, { headers: { Cookie: cookie } });
  const del = (path: string, cookie: string) => t.request(path, { method: "DELETE", headers: { Cookie: cookie } });
  return { t, driver, user, clock, login, get, del };
}

for (const storage of Object.keys(storages)) {
  describe(`session management on ${storage} storage`, () => {
    it("lists the user's live sessions, newest first, by record id, marking the current one", async () => {
      const s = await setUp(storage, {});
      const first = await s.login("agent-one");
      s.clock.advance(2000);
      const second = await s.login("agent-two");
      const r = await s.get("/api/v1/auth_session/sessions", second);
      assert.equal(r.status, 200);
      const list = (await r.json()) as Record<string, unknown>[];
      assert.equal(list.length, 2);
      for (const entry of list) assert.deepEqual(Object.keys(entry), SESSION_KEYS);
      assert.deepEqual(list.map((x) => [x.user_agent, x.current]), [["agent-two", true], ["agent-one", false]]);
      assert.equal(list[0].expires_at, null, "no limit configured");
      // Ids are record ids: neither the token nor its hash appears.
      const text = JSON.stringify(list);
      for (const cookie of [first, second]) assert.ok(!text.includes(cookie.split("=")[1]));
      for (const stored of await s.driver.listSessions()) assert.ok(!text.includes(stored.session_id));
      await s.driver.close();
    });

    it("ends one session by id; another user's or an unknown id is 404; ending the current one clears the cookie", async () => {
      const s = await setUp(storage, {});
      const mine = await s.login();
      const other = await s.login();
      const otherId = ((await (await s.get("/api/v1/auth_session/sessions", mine)).json()) as { id: string; current: boolean }[])
        .find((x) => !x.current)!.id;
      // Someone else cannot end it, nor learn whether it exists.
      await s.t.seed("eve@hbtn.io", PASSWORD);
      const eve = cookieOf(await s.t.form("/api/v1/auth_session/login", { email: "eve@hbtn.io", password: PASSWORD }));
      assert.equal((await s.del(`/api/v1/auth_session/sessions/${otherId}`, eve)).status, 404);
      assert.equal((await s.get("/api/v1/users/me", other)).status, 200);
      assert.equal((await s.del("/api/v1/auth_session/sessions/no-such-id", mine)).status, 404);
      const ended = await s.del(`/api/v1/auth_session/sessions/${otherId}`, mine);
      assert.deepEqual([ended.status, await ended.json(), ended.headers.get("set-cookie")], [200, {}, null]);
      assert.equal((await s.get("/api/v1/users/me", other)).status, 403);
      const myId = ((await (await s.get("/api/v1/auth_session/sessions", mine)).json()) as { id: string }[])[0].id;
      const self = await s.del(`/api/v1/auth_session/sessions/${myId}`, mine);
      assert.equal(self.status, 200);
      assert.match(self.headers.get("set-cookie") ?? "", /Max-Age=0/);
      assert.equal((await s.get("/api/v1/users/me", mine)).status, 403);
      await s.driver.close();
    });

    it("ends every other session and keeps the current one", async () => {
      const s = await setUp(storage, {});
      const others = [await s.login(), await s.login(), await s.login()];
      const current = await s.login();
      const r = await s.del("/api/v1/auth_session/sessions", current);
      assert.deepEqual([r.status, await r.json()], [200, { ended: 3 }]);
      for (const cookie of others) assert.equal((await s.get("/api/v1/users/me", cookie)).status, 403);
      assert.equal((await s.get("/api/v1/users/me", current)).status, 200);
      await s.driver.close();
    });

    it("a revoke-all concurrent with logins leaves no session that was created before it", async () => {
      const s = await setUp(storage, {});
      const before = await Promise.all(Array.from({ length: 10 }, () => s.login()));
      const current = await s.login();
      const [revoked] = await Promise.all([
        s.del("/api/v1/auth_session/sessions", current),
        ...Array.from({ length: 10 }, () => s.login()),
      ]);
      assert.equal(revoked.status, 200);
      for (const cookie of before) assert.equal((await s.get("/api/v1/users/me", cookie)).status, 403);
      await s.driver.close();
    });

    it("changes the password: wrong current password 401, sign-up rules 400, then every other session ends", async () => {
      const s = await setUp(storage, {});
      const other = await s.login();
      const current = await s.login();
      const change = (body: unknown) => s.t.json("/api/v1/users/me/password", "PUT", body, { Cookie: current });
      assert.deepEqual([(await change({ current_password: "nope-nope-1", new_password: "N3w-password!" })).status], [401]);
      const short = await change({ current_password: PASSWORD, new_password: "short" });
      assert.deepEqual([short.status, await short.json()], [400, { error: "Can't update User: password is shorter than 8 characters" }]);
      assert.deepEqual(await (await change({ current_password: PASSWORD })).json(), { error: "new_password missing" });
      const ok = await change({ current_password: PASSWORD, new_password: "N3w-password!" });
      assert.deepEqual([ok.status, await ok.json()], [200, {}]);
      assert.equal((await s.get("/api/v1/users/me", other)).status, 403, "other sessions end");
      assert.equal((await s.get("/api/v1/users/me", current)).status, 200, "the current one stays");
      const old = await s.t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
      assert.equal(old.status, 401);
      await s.login("agent", "N3w-password!");
      await s.driver.close();
    });

    it("a wrong current password is throttled like a login: 20 free failures, then 429 with Retry-After", async () => {
      const s = await setUp(storage, {});
      const current = await s.login();
      const change = (current_password: string) =>
        s.t.json("/api/v1/users/me/password", "PUT", { current_password, new_password: "N3w-password!" }, { Cookie: current });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await change(`guess-${i}-x`)).status);
      assert.deepEqual(statuses, Array(20).fill(401));
      const refused = await change(PASSWORD);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      s.clock.advance(Number(refused.headers.get("retry-after")) * 1000);
      assert.equal((await change(PASSWORD)).status, 200);
      await s.driver.close();
    });
  });
}

describe("session timeouts (injected clock)", () => {
  it("SESSION_IDLE_TIMEOUT ends an unused session; each use slides the window", async () => {
    const s = await setUp("memory", { SESSION_IDLE_TIMEOUT: "600" });
    const cookie = await s.login();
    for (let i = 0; i < 5; i++) {
      s.clock.advance(500_000);
      assert.equal((await s.get("/api/v1/users/me", cookie)).status, 200, `use ${i}: within 600 s of the last`);
    }
    s.clock.advance(600_001);
    assert.equal((await s.get("/api/v1/users/me", cookie)).status, 403);
  });

  it("the idle window is written to the store at most once a minute, or a tenth of the timeout when shorter", async () => {
    for (const [idle, every] of [["0", 60_000], ["3600", 60_000], ["300", 30_000]] as const) {
      const s = await setUp("memory", { SESSION_IDLE_TIMEOUT: idle });
      let touches = 0;
      const touch = s.driver.touchSession.bind(s.driver);
      s.driver.touchSession = (...args) => (touches++, touch(...args));
      const cookie = await s.login();
      for (let i = 0; i < 100; i++) {
        s.clock.advance(every / 20);
        assert.equal((await s.get("/api/v1/users/me", cookie)).status, 200);
      }
      // 100 uses over 5 intervals: about 5 writes, never one per request.
      assert.ok(touches >= 4 && touches <= 5, `idle ${idle}: ${touches} writes`);
    }
  });

  it("a session read back from storage resumes its idle window from the stored last use", async () => {
    const clock = fakeClock(Date.now());
    const driver = createMemoryDriver();
    const first = testApp({ env: { AUTH_TYPE: "session_db_auth", SESSION_IDLE_TIMEOUT: "600" }, driver, now: clock.now });
    await first.seed("bob@hbtn.io", PASSWORD);
    const cookie = cookieOf(await first.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD }));
    clock.advance(120_000);
    assert.equal((await first.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 200);
    // Another process on the same storage, knowing nothing of this session.
    const second = testApp({ env: { AUTH_TYPE: "session_db_auth", SESSION_IDLE_TIMEOUT: "600" }, driver, now: clock.now });
    clock.advance(590_000);
    assert.equal((await second.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 200);
    clock.advance(700_000);
    assert.equal((await second.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status, 403);
  });

  it("SESSION_DURATION: the cookie carries Max-Age, and the list shows when a session ends", async () => {
    const s = await setUp("memory", { SESSION_DURATION: "3600", SESSION_IDLE_TIMEOUT: "600" });
    const r = await s.t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
    const sessionCookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith("_my_session_id="));
    assert.match(sessionCookieOf(r) ?? "", /; Max-Age=3600;/);
    const cookie = cookieOf(r);
    const [entry] = (await (await s.get("/api/v1/auth_session/sessions", cookie)).json()) as { created_at: string; expires_at: string }[];
    // The idle limit comes first here.
    assert.equal(Date.parse(entry.expires_at + "Z") - Date.parse(entry.created_at + "Z"), 600_000);
    s.clock.advance(3_600_001);
    assert.equal((await s.get("/api/v1/users/me", cookie)).status, 403);
    const noLimit = await setUp("memory", {});
    const unlimited = await noLimit.t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
    assert.doesNotMatch(sessionCookieOf(unlimited) ?? "", /Max-Age/);
  });
});

describe("session routes under other auth types", () => {
  it("answer a clear 400 without sessions; the password change works under basic_auth", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    await t.seed("bob@hbtn.io", PASSWORD);
    const auth = { Authorization: basic("bob@hbtn.io", PASSWORD) };
    for (
      const [method, path] of [["GET", "/api/v1/auth_session/sessions"], ["DELETE", "/api/v1/auth_session/sessions"], [
        "DELETE",
        "/api/v1/auth_session/sessions/x",
      ]]
    ) {
      const r = await t.request(path, { method, headers: auth });
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.match(((await r.json()) as { error: string }).error, /^Sessions are not enabled: AUTH_TYPE is basic_auth/);
    }
    const changed = await t.json("/api/v1/users/me/password", "PUT", { current_password: PASSWORD, new_password: "N3w-password!" }, auth);
    assert.equal(changed.status, 200);
    assert.equal((await t.request("/api/v1/users/me", { headers: auth })).status, 403, "the old password no longer works");
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", "N3w-password!") } })).status, 200);
  });
});
