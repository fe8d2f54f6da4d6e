import { after, describe, it } from "node:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME, startServer } from "./helpers/server.ts";
import assert from "node:assert/strict";
import { basic, fakeClock, testApp } from "./helpers/app.ts";
import { forwardedEntry } from "../src/http/origin.ts";
import { createLoginThrottle } from "../src/auth/throttle.ts";

const wrongLogin = (t: ReturnType<typeof testApp>, headers: Record<string, string> = {}) =>
  t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "wrong-password" }, headers);

describe("throttling password checks", () => {
  it("60 parallel wrong passwords from one client: at most 20 reach the password check", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    const statuses = await Promise.all(Array.from({ length: 60 }, async () => (await wrongLogin(t)).status));
    const checked = statuses.filter((s) => s === 401).length;
    assert.ok(checked <= 20, `${checked} reached the check`);
    assert.equal(checked + statuses.filter((s) => s === 429).length, 60);
    // And one after another: the 21st waits.
    const clock = fakeClock();
    const seq = testApp({ env: { AUTH_TYPE: "session_db_auth" }, now: clock.now });
    await seq.seed("bob@hbtn.io", "Passw0rd-123");
    const one: number[] = [];
    for (let i = 0; i < 21; i++) one.push((await wrongLogin(seq)).status);
    assert.deepEqual(one, [...Array(20).fill(401), 429]);
  });

  it("an attempt counts before its hash: 300 concurrent guesses are throttled exactly like 300 sequential ones", async () => {
    const throttle = createLoginThrottle({ now: () => 1_000_000, maxInFlight: 1000 });
    const attempts = await Promise.all(Array.from({ length: 300 }, () => throttle.attempt("1.2.3.4", "bob@hbtn.io")));
    assert.equal(attempts.filter((a) => a.ok).length, 20);
    for (const a of attempts) if (a.ok) a.done();
  });

  it("one client may have only a few checks in flight; other clients are not held up", async () => {
    const throttle = createLoginThrottle({ now: () => 1_000_000, maxInFlight: 4 });
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => throttle.attempt("6.6.6.6", `victim${i}@hbtn.io`)));
    assert.equal(burst.filter((a) => a.ok).length, 4);
    assert.ok(burst.filter((a) => !a.ok).every((a) => !a.ok && a.retryAfter === 1));
    assert.equal((await throttle.attempt("7.7.7.7", "other@hbtn.io")).ok, true);
    for (const a of burst) if (a.ok) a.done();
    assert.equal((await throttle.attempt("6.6.6.6", "victim0@hbtn.io")).ok, true, "slots come back when checks end");
  });

  it("Basic auth guesses are throttled like logins: 429 with Retry-After", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" }, now: clock.now });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      statuses.push((await t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", `guess-${i}`) } })).status);
    }
    assert.deepEqual(statuses, [...Array(20).fill(403), 429, 429]);
    const r = await t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", "Passw0rd-123") } });
    assert.equal(r.status, 429);
    const wait = Number(r.headers.get("retry-after"));
    assert.ok(wait >= 1, String(wait));
    assert.match(((await r.json()) as { error: string }).error, /Too many failed logins/);
    clock.advance(wait * 1000);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", "Passw0rd-123") } })).status, 200);
  });

  it("a client behind a trusted proxy is the entry that proxy added: forged left-most entries change nothing", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true" } });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await wrongLogin(t, { "X-Forwarded-For": `10.9.${i}.1, 203.0.113.9` })).status);
    assert.deepEqual(statuses.slice(-2), [429, 429], "a new fake address per request evades nothing");
    // Naming the attacker's real address in a forged entry does not lock anyone else out.
    const victim = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "Passw0rd-123" }, {
      "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
    });
    assert.equal(victim.status, 200);
    assert.equal(forwardedEntry("a, b, c", 1), "c");
    assert.equal(forwardedEntry("a, b, c", 2), "b");
    assert.equal(forwardedEntry("a", 3), "a");
    assert.equal(forwardedEntry("a, b", 0), undefined);
  });

  it("1,000 wrong passwords for one account from 50 rotating addresses reach the password check at most 100 times an hour", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true" }, now: clock.now });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    let checked = 0;
    for (let i = 0; i < 1000; i++) {
      const r = await wrongLogin(t, { "X-Forwarded-For": `192.0.2.${i % 50}` });
      if (r.status === 401) checked++;
      else assert.equal(r.status, 429);
      clock.advance(1000);
    }
    // 1,000 s is under an hour, so the hourly allowance covers all of it.
    assert.ok(checked <= 100, `${checked} reached the check`);
    assert.ok(checked >= 90, `${checked}: the allowance is used, not refused outright`);
  });
});

describe("cross-site requests and odd headers", () => {
  it("refuses a cross-site login (login CSRF); curl, which sends neither header, logs in", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    const creds = { email: "bob@hbtn.io", password: "Passw0rd-123" };
    const hostile: Record<string, string>[] = [{ "Sec-Fetch-Site": "cross-site" }, { Origin: "https://evil.example" }, { Origin: "null" }, {
      "Sec-Fetch-Site": "same-origin, cross-site",
    }];
    for (const headers of hostile) {
      const r = await t.form("/api/v1/auth_session/login", creds, headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(r.headers.get("set-cookie"), null);
    }
    assert.equal((await t.form("/api/v1/auth_session/login", creds)).status, 200);
    assert.equal(
      (await t.form("/api/v1/auth_session/login", creds, { Origin: "http://localhost", "Sec-Fetch-Site": "same-origin" })).status,
      200,
    );
  });

  it("an Origin of the same host with another scheme is another site", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", COOKIE_SECURE: "auto" } });
    const user = await t.seed("bob@hbtn.io", "Passw0rd-123");
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "Passw0rd-123" });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const put = (origin: string) => t.json(`/api/v1/users/${user.id}`, "PUT", { first_name: "X" }, { Cookie: cookie, Origin: origin });
    assert.equal((await put("https://localhost")).status, 403, "the request came over http://");
    assert.equal((await put("http://localhost:80")).status, 200, "the default port is the same origin");
    assert.equal((await put("http://localhost")).status, 200);
  });

  it("an empty Authorization header presents nothing: 401, not 403", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    const r = await t.request("/api/v1/users", { headers: { Authorization: "" } });
    assert.equal(r.status, 401);
    assert.equal((await t.request("/api/v1/users", { headers: { Authorization: "   " } })).status, 401);
  });

  it("sign-up refuses emails with control characters or without an @", async () => {
    const t = testApp();
    for (const email of ["bob", "bob@", "@hbtn.io", "bo\nb@hbtn.io", "bob@hb\rtn.io", "b\u0085@x.io"]) {
      const r = await t.json("/api/v1/users", "POST", { email, password: "Passw0rd-123" });
      assert.equal(r.status, 400, JSON.stringify(email));
      assert.match(((await r.json()) as { error: string }).error, /^Can't create User: email is not a valid address/);
    }
    // A NUL is refused with the body, before any rule runs (see hostile-input.test.ts).
    const nul = await t.json("/api/v1/users", "POST", { email: "b\u0000@x.io", password: "Passw0rd-123" });
    assert.equal(nul.status, 400);
    assert.equal(((await nul.json()) as { error: string }).error, 'Bad request: "email" contains a NUL character');
    assert.equal((await t.json("/api/v1/users", "POST", { email: "zoë@日本.jp", password: "Passw0rd-123" })).status, 201);
  });
});

describe(`data at rest on ${RUNTIME}: readable by the service's account only`, () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("creates DATA_DIR 0700 and every data file 0600; warns about older files others can read", async () => {
    const base = mkdtempSync(join(tmpdir(), "modes-"));
    dirs.push(base);
    const dir = join(base, "data");
    const s = await startServer({ DATA_DIR: dir });
    await fetch(`${s.url}/api/v1/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "a@b.io", password: "Passw0rd-123" }),
    });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o077, 0, `${f} is private`);
    assert.equal(await s.stop("SIGTERM"), 0);
    assert.equal(statSync(join(dir, ".db_User.json")).mode & 0o777, 0o600);
    assert.doesNotMatch(s.output(), /can be read by other users/);

    chmodSync(join(dir, ".db_User.json"), 0o644);
    const again = await startServer({ DATA_DIR: dir });
    assert.match(
      again.output(),
      new RegExp(`warn .*\\.db_User\\.json can be read by other users of this machine \\(mode 644\\).*chmod 600`),
    );
    assert.equal(await again.stop("SIGTERM"), 0);

    // A folder others may list but not write (a checkout, a home folder) exposes no data: no warning.
    chmodSync(join(dir, ".db_User.json"), 0o600);
    chmodSync(dir, 0o755);
    const listed = await startServer({ DATA_DIR: dir });
    assert.doesNotMatch(listed.output(), /other users of this machine/);
    assert.equal(await listed.stop("SIGTERM"), 0);
    chmodSync(dir, 0o777);
    const writable = await startServer({ DATA_DIR: dir });
    assert.match(writable.output(), /warn .*\/data can be written by other users of this machine \(mode 777\).*chmod go-w/);
    assert.equal(await writable.stop("SIGTERM"), 0);
    chmodSync(dir, 0o700);

    const kvDir = join(base, "kv");
    mkdirSync(kvDir);
    const kv = await startServer({ STORAGE: "kv", DATA_DIR: kvDir });
    assert.equal(statSync(join(kvDir, "auth.kv")).mode & 0o777, 0o600);
    assert.equal(await kv.stop("SIGTERM"), 0);
  });
});
