import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cookieOf, fakeClock, testApp } from "./helpers/app.ts";
import { pyDump } from "./helpers/seed-folder.ts";
import { sha256Hex } from "../src/lib/sha256.ts";
import { RUNTIME, type Server, startServer } from "./helpers/server.ts";

const login = (t: ReturnType<typeof testApp>, email = "bob@hbtn.io", password = "Passw0rd-123") =>
  t.form("/api/v1/auth_session/login", { email, password });

for (const authType of ["session_auth", "session_exp_auth", "session_db_auth"]) {
  describe(`session lifecycle: ${authType}`, () => {
    it("caps the live sessions of one user: a login past MAX_SESSIONS_PER_USER ends the oldest", async () => {
      const clock = fakeClock();
      const t = testApp({ env: { AUTH_TYPE: authType, MAX_SESSIONS_PER_USER: "3" }, now: clock.now });
      await t.seed("bob@hbtn.io");
      const cookies: string[] = [];
      for (let i = 0; i < 5; i++) {
        cookies.push(cookieOf(await login(t)));
        clock.advance(1000);
      }
      const live = [];
      for (const cookie of cookies) live.push((await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).status);
      assert.deepEqual(live, [403, 403, 200, 200, 200]);
    });

    it("a login racing the user's deletion leaves no session behind", async () => {
      for (let round = 0; round < 20; round++) {
        const t = testApp({ env: { AUTH_TYPE: authType } });
        const user = await t.seed("bob@hbtn.io");
        const [r] = await Promise.all([login(t), t.driver.deleteUser(user.id)]);
        assert.ok(r.status === 401 || r.status === 200, String(r.status));
        // Whatever the order, the cookie (if any) authenticates nothing, and storage holds no orphan.
        if (r.status === 200) assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: cookieOf(r) } })).status, 403);
        assert.deepEqual(await t.driver.listUserSessions(user.id), []);
        assert.deepEqual(await t.driver.listSessions(), []);
      }
    });
  });
}

for (const authType of ["session_exp_auth", "session_db_auth"]) {
  describe(`expired sessions are swept: ${authType}`, () => {
    it("the background sweep deletes sessions past SESSION_DURATION, and only those", async () => {
      const clock = fakeClock();
      const t = testApp({ env: { AUTH_TYPE: authType, SESSION_DURATION: "60" }, now: clock.now });
      await t.seed("bob@hbtn.io");
      const old = cookieOf(await login(t));
      clock.advance(50_000);
      const recent = cookieOf(await login(t));
      clock.advance(20_000);
      await t.runTask("expired sessions sweep");
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: old } })).status, 403);
      assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: recent } })).status, 200);
      if (authType === "session_db_auth") {
        const stored = await t.driver.listSessions();
        assert.deepEqual(stored.map((s) => s.session_id), [sha256Hex(recent.split("=")[1])]);
      }
    });
  });
}

describe(`session files of a real server on ${RUNTIME}`, () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const folder = () => {
    const d = mkdtempSync(join(tmpdir(), "sessions-e2e-"));
    dirs.push(d);
    return d;
  };

  it("sessions kept in memory (session_auth) never create .db_UserSession.json", async () => {
    const dir = folder();
    const user = {
      id: "u1",
      created_at: "2024-01-01T00:00:00",
      updated_at: "2024-01-01T00:00:00",
      email: "a@b.io",
      _password: sha256Hex("Passw0rd-123"),
      first_name: null,
      last_name: null,
    };
    writeFileSync(join(dir, ".db_User.json"), pyDump({ u1: user }));
    const s = await startServer({ AUTH_TYPE: "session_auth", DATA_DIR: dir });
    servers.push(s);
    const r = await fetch(`${s.url}/api/v1/auth_session/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "a@b.io", password: "Passw0rd-123" }),
    });
    assert.equal(r.status, 200);
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
    assert.deepEqual(readdirSync(dir), [".db_User.json"]);
  });

  it("a clean stop of session_db_auth drops expired sessions from .db_UserSession.json", async () => {
    const dir = folder();
    const user = {
      id: "u1",
      created_at: "2024-01-01T00:00:00",
      updated_at: "2024-01-01T00:00:00",
      email: "a@b.io",
      _password: null,
      first_name: null,
      last_name: null,
    };
    writeFileSync(join(dir, ".db_User.json"), pyDump({ u1: user }));
    const session = (id: string, created: string) => ({
      id,
      created_at: created,
      updated_at: created,
      user_id: "u1",
      session_id: sha256Hex(id),
    });
    const now = new Date(Date.now() - 5_000).toISOString().slice(0, 19);
    writeFileSync(join(dir, ".db_UserSession.json"), pyDump({ old: session("old", "2020-01-01T00:00:00"), fresh: session("fresh", now) }));
    const s = await startServer({ AUTH_TYPE: "session_db_auth", SESSION_DURATION: "3600", DATA_DIR: dir });
    servers.push(s);
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
    const kept = JSON.parse(readFileSync(join(dir, ".db_UserSession.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(kept), ["fresh"]);
  });
});
