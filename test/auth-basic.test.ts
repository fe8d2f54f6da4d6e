import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBasicAuth } from "../src/auth/basic.ts";
import { basic, testApp } from "./helpers/app.ts";
import { createPasswordHasher } from "../src/auth/password.ts";

const hashPassword = (password: string, iterations: number) => createPasswordHasher({ iterations }).hash(password);

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

describe("parseBasicAuth", () => {
  it("decodes the seed's example", () => {
    assert.deepEqual(parseBasicAuth("Basic Ym9iQGhidG4uaW86SDBsYmVydG9uU2Nob29sOTgh"), {
      email: "bob@hbtn.io",
      password: "H0lbertonSchool98!",
    });
  });
  it("splits at the first colon, so passwords may hold colons", () => {
    assert.deepEqual(parseBasicAuth(`Basic ${b64("a@b.c:pa:ss:word")}`), { email: "a@b.c", password: "pa:ss:word" });
  });
  it("accepts any case of the scheme, several spaces and extra padding", () => {
    const v = b64("a@b.c:pw"); // no padding needed? make one that needs it
    assert.deepEqual(parseBasicAuth(`bAsIc ${v}`), { email: "a@b.c", password: "pw" });
    assert.deepEqual(parseBasicAuth(`Basic    ${v}`), { email: "a@b.c", password: "pw" });
    const padded = b64("a@b.c:pwd1");
    assert.ok(padded.endsWith("="));
    assert.deepEqual(parseBasicAuth(`Basic ${padded}==`), { email: "a@b.c", password: "pwd1" });
  });
  it("decodes UTF-8 credentials", () => {
    assert.deepEqual(parseBasicAuth(`Basic ${b64("zoë@x.io:pässwörd")}`), { email: "zoë@x.io", password: "pässwörd" });
  });
  it("rejects everything malformed", () => {
    for (
      const h of [
        null,
        "",
        "Basic",
        "Basic ",
        "Bearer abc",
        "Basicabc",
        `Basic ${b64("nocolon")}`,
        "Basic !!!!",
        "Basic YWJj ZGVm",
        `Basic ${b64("a@b.c:pwd1").replace(/=+$/, "")}`, // missing padding
        "Basic " + btoa(String.fromCharCode(0xff, 0xfe, 0x3a, 0x41)), // not UTF-8
      ]
    ) {
      assert.equal(parseBasicAuth(h), null, String(h));
    }
  });
});

describe("basic_auth", () => {
  const env = { AUTH_TYPE: "basic_auth" };

  it("401 with WWW-Authenticate when nothing is presented", async () => {
    const r = await testApp({ env }).request("/api/v1/users");
    assert.equal(r.status, 401);
    assert.deepEqual(await r.json(), { error: "Unauthorized" });
    assert.match(r.headers.get("www-authenticate") ?? "", /^Basic realm="/);
  });

  it("checks unknown paths too, and not the excluded ones", async () => {
    const t = testApp({ env });
    assert.equal((await t.request("/api/v1/nope")).status, 401);
    assert.equal((await t.request("/nope")).status, 401);
    assert.equal((await t.request("/api/v1/status")).status, 200);
    assert.equal((await t.request("/api/v1/status/")).status, 200);
    assert.equal((await t.request("/api/v1/unauthorized")).status, 401);
    assert.equal((await t.request("/api/v1/forbidden")).status, 403);
    // Exact and case-sensitive.
    assert.equal((await t.request("/api/v1/STATUS")).status, 401);
  });

  it("authenticates good credentials and 403s bad ones", async () => {
    const t = testApp({ env });
    const u = await t.seed("bob@hbtn.io", "H0lbertonSchool98!");
    const ok = await t.request("/api/v1/users/me", { headers: { Authorization: basic("bob@hbtn.io", "H0lbertonSchool98!") } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { id: string }).id, u.id);
    for (
      const h of [
        basic("bob@hbtn.io", "wrong"),
        basic("nobody@hbtn.io", "H0lbertonSchool98!"),
        "Basic %%%",
        "Bearer x",
        basic("BOB@hbtn.io", "H0lbertonSchool98!"),
      ]
    ) {
      const r = await t.request("/api/v1/users", { headers: { Authorization: h } });
      assert.equal(r.status, 403, h);
      assert.deepEqual(await r.json(), { error: "Forbidden" });
    }
  });

  it("a session cookie alone is 403", async () => {
    const r = await testApp({ env }).request("/api/v1/users", { headers: { Cookie: "_my_session_id=abc" } });
    assert.equal(r.status, 403);
  });

  it("accepts a legacy SHA-256 hash and re-hashes it without touching updated_at", async () => {
    const t = testApp({ env });
    const legacy = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // sha256("password")
    await t.driver.importRecords(
      [{
        id: "u1",
        created_at: "2020-01-01T00:00:00",
        updated_at: "2020-01-02T00:00:00",
        email: "old@x.io",
        _password: legacy,
        first_name: null,
        last_name: null,
      }],
      [],
    );
    const r = await t.request("/api/v1/users/me", { headers: { Authorization: basic("old@x.io", "password") } });
    assert.equal(r.status, 200);
    const stored = await t.driver.getUser("u1");
    assert.match(stored!._password!, /^pbkdf2_sha256\$\d+\$/);
    assert.equal(stored!.updated_at, "2020-01-02T00:00:00");
    // Still works after the upgrade; a wrong password still fails.
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("old@x.io", "password") } })).status, 200);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("old@x.io", "Password") } })).status, 403);
  });

  it("a user with no password can never authenticate", async () => {
    const t = testApp({ env });
    await t.driver.importRecords([{
      id: "n",
      created_at: "2020-01-01T00:00:00",
      updated_at: "2020-01-01T00:00:00",
      email: "null@x.io",
      _password: null,
      first_name: null,
      last_name: null,
    }], []);
    assert.equal((await t.request("/api/v1/users", { headers: { Authorization: basic("null@x.io", "") } })).status, 403);
    assert.equal((await t.request("/api/v1/users", { headers: { Authorization: basic("null@x.io", "None") } })).status, 403);
  });

  it("the first user of a legacy duplicate email is the one that authenticates", async () => {
    const t = testApp({ env });
    const h1 = await hashPassword("first-pass", 1000);
    const h2 = await hashPassword("second-pass", 1000);
    const rec = (id: string, h: string) => ({
      id,
      created_at: "2020-01-01T00:00:00",
      updated_at: "2020-01-01T00:00:00",
      email: "dup@x.io",
      _password: h,
      first_name: null,
      last_name: null,
    });
    await t.driver.importRecords([rec("first", h1), rec("second", h2)], []);
    const r = await t.request("/api/v1/users/me", { headers: { Authorization: basic("dup@x.io", "first-pass") } });
    assert.equal(((await r.json()) as { id: string }).id, "first");
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("dup@x.io", "second-pass") } })).status, 403);
  });

  it("the credential cache forgets a user whose password hash changed or who was deleted", async () => {
    const t = testApp({ env });
    const u = await t.seed("c@x.io", "Passw0rd-123");
    const h = { Authorization: basic("c@x.io", "Passw0rd-123") };
    assert.equal((await t.request("/api/v1/users/me", { headers: h })).status, 200);
    assert.equal((await t.request("/api/v1/users/me", { headers: h })).status, 200);
    const stored = (await t.driver.getUser(u.id))!;
    await t.driver.updateUser({ ...stored, _password: await hashPassword("changed-pass", 1000) });
    assert.equal((await t.request("/api/v1/users/me", { headers: h })).status, 403);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("c@x.io", "changed-pass") } })).status, 200);
    await t.driver.deleteUser(u.id);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Authorization: basic("c@x.io", "changed-pass") } })).status, 403);
  });

  it("login answers a JSON 4xx, never a 500, and logout likewise", async () => {
    const t = testApp({ env });
    await t.seed("bob@hbtn.io", "Passw0rd-123");
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "Passw0rd-123" });
    assert.ok(login.status >= 400 && login.status < 500, String(login.status));
    assert.match(((await login.json()) as { error: string }).error, /Sessions are not enabled/);
    assert.equal(login.headers.get("set-cookie"), null);
    const logout = await t.request("/api/v1/auth_session/logout", {
      method: "DELETE",
      headers: { Authorization: basic("bob@hbtn.io", "Passw0rd-123") },
    });
    assert.ok(logout.status >= 400 && logout.status < 500);
    const bare = await t.request("/api/v1/auth_session/logout", { method: "DELETE" });
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    // Every 401 under basic_auth says how to authenticate, the login's too.
    const wrong = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "nope-nope" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    assert.equal(
      (await t.request("/api/v1/auth_session", { method: "DELETE" })).headers.get("www-authenticate")?.startsWith("Basic "),
      true,
    );
  });
});

describe("auth and no auth type", () => {
  it("AUTH_TYPE=auth answers 401 without credentials and 403 with any", async () => {
    const t = testApp({ env: { AUTH_TYPE: "auth" } });
    await t.seed("a@x.io", "Passw0rd-123");
    assert.equal((await t.request("/api/v1/users")).status, 401);
    assert.equal((await t.request("/api/v1/users", { headers: { Authorization: basic("a@x.io", "Passw0rd-123") } })).status, 403);
    assert.equal((await t.request("/api/v1/users", { headers: { Cookie: "_my_session_id=x" } })).status, 403);
    const login = await t.form("/api/v1/auth_session/login", { email: "a@x.io", password: "Passw0rd-123" });
    assert.ok(login.status >= 400 && login.status < 500);
  });

  it("no auth type: everything is open, login and logout answer a JSON 4xx", async () => {
    const t = testApp();
    await t.seed("a@x.io", "Passw0rd-123");
    assert.equal((await t.request("/api/v1/users")).status, 200);
    const login = await t.form("/api/v1/auth_session/login", { email: "a@x.io", password: "Passw0rd-123" });
    assert.ok(login.status >= 400 && login.status < 500);
    const logout = await t.request("/api/v1/auth_session/logout", { method: "DELETE" });
    assert.ok(logout.status >= 400 && logout.status < 500);
    assert.ok(((await logout.json()) as { error: string }).error.length > 0);
  });
});
