import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { basic, cookieOf, testApp, testHasher } from "./helpers/app.ts";

const USER_KEYS = ["created_at", "email", "first_name", "id", "last_name", "updated_at"];
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

describe("index routes", () => {
  it("GET /status answers OK, with and without a trailing slash", async () => {
    const t = testApp();
    for (const p of ["/api/v1/status", "/api/v1/status/"]) {
      const r = await t.request(p);
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await r.json(), { status: "OK" });
    }
  });

  it("HEAD /status answers 200 without a body", async () => {
    const r = await testApp().request("/api/v1/status", { method: "HEAD" });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "");
  });

  it("GET /stats counts users", async () => {
    const t = testApp();
    assert.deepEqual(await (await t.request("/api/v1/stats")).json(), { users: 0 });
    await t.createUser("a@x.io");
    await t.createUser("b@x.io");
    assert.deepEqual(await (await t.request("/api/v1/stats/")).json(), { users: 2 });
  });

  it("unauthorized and forbidden answer 401 and 403 in JSON", async () => {
    const t = testApp();
    const u = await t.request("/api/v1/unauthorized");
    assert.equal(u.status, 401);
    assert.deepEqual(await u.json(), { error: "Unauthorized" });
    const f = await t.request("/api/v1/forbidden/");
    assert.equal(f.status, 403);
    assert.deepEqual(await f.json(), { error: "Forbidden" });
  });

  it("an unknown path is a JSON 404", async () => {
    const t = testApp();
    for (const p of ["/api/v1/nope", "/nope", "/api/v2/status", "/api/v1/users/a/b"]) {
      const r = await t.request(p);
      assert.equal(r.status, 404, p);
      assert.deepEqual(await r.json(), { error: "Not found" });
    }
  });

  it("a wrong method on a known path is a JSON 405 with Allow", async () => {
    const t = testApp();
    const cases: [string, string, string[]][] = [
      ["/api/v1/status", "POST", ["GET", "HEAD"]],
      ["/api/v1/users", "DELETE", ["GET", "POST"]],
      ["/api/v1/users/123/", "POST", ["GET", "PUT", "DELETE"]],
      ["/api/v1/auth_session/login", "GET", ["POST"]],
      ["/api/v1/auth_session/logout", "POST", ["DELETE"]],
      ["/api/v1/stats", "PATCH", ["GET"]],
      // /users/me has GET of its own and PUT and DELETE of /users/:id.
      ["/api/v1/users/me", "POST", ["GET", "HEAD", "PUT", "DELETE"]],
      ["/api/v1/users/me/", "PATCH", ["GET", "HEAD", "PUT", "DELETE"]],
    ];
    for (const [path, method, allowed] of cases) {
      const r = await t.request(path, { method });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.deepEqual(await r.json(), { error: "Method not allowed" });
      const allow = (r.headers.get("allow") ?? "").split(",").map((s) => s.trim());
      for (const m of allowed) assert.ok(allow.includes(m), `${path} Allow has ${m}: ${allow}`);
      assert.ok(!allow.includes(method));
    }
  });

  it("Allow tells the truth: every method it lists is served, on every route", async () => {
    const t = testApp();
    const user = await t.createUser("allow@hbtn.io");
    const paths = [
      "/api/v1/status",
      "/api/v1/stats",
      "/api/v1/users",
      `/api/v1/users/${user.id}`,
      "/api/v1/users/me",
      "/api/v1/auth_session/login",
      "/api/v1/auth_session/logout",
      "/api/v1/auth_session",
    ];
    for (const path of paths) {
      const allow = (await t.request(path, { method: "OPTIONS" })).headers.get("allow")!.split(", ");
      for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]) {
        const r = await t.request(path, {
          method,
          headers: { "content-type": "application/json" },
          body: method === "GET" || method === "HEAD" ? undefined : "{}",
        });
        assert.equal(r.status === 405, !allow.includes(method), `${method} ${path}: ${r.status}, Allow: ${allow}`);
      }
    }
  });

  it("routes on the path as requested: an extra trailing slash is another path", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    const r = await t.request("/api/v1/status//");
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate") ?? "", /^Basic /);
    assert.equal((await t.request("/api/v1/status/")).status, 200);
  });

  it("refuses a malformed Host or request target with a JSON 400 before anything runs", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    for (const host of ["127.0.0.1:5000/api/v1/users/me#", "a b", "x@y", "h?q", "[::1"]) {
      const r = await t.request("/api/v1/status", { headers: { Host: host } });
      assert.equal(r.status, 400, host);
      assert.deepEqual(await r.json(), { error: "Bad request: malformed Host header or request target" });
    }
    for (const host of ["localhost", "127.0.0.1:5000", "[::1]:80", "api.example.com"]) {
      assert.equal((await t.request("/api/v1/status", { headers: { Host: host } })).status, 200, host);
    }
    const odd = await t.app.fetch(new Request("aa:bbb/api/v1/users/me"));
    assert.equal(odd.status, 400);
  });
});

describe("CORS", () => {
  it("sends Access-Control-Allow-Origin: * on every /api/v1 response, errors included", async () => {
    const t = testApp({ env: { AUTH_TYPE: "basic_auth" } });
    for (const p of ["/api/v1/status", "/api/v1/users", "/api/v1/nope"]) {
      const r = await t.request(p);
      assert.equal(r.headers.get("access-control-allow-origin"), "*", p);
    }
  });

  it("echoes an Origin with Vary: Origin", async () => {
    const r = await testApp().request("/api/v1/status", { headers: { Origin: "https://app.example" } });
    assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(r.headers.get("vary") ?? "", /Origin/);
  });

  it("answers a preflight before authentication", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_auth" } });
    const r = await t.request("/api/v1/users/me", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "content-type" },
    });
    assert.ok(r.status === 200 || r.status === 204, String(r.status));
    assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(
      r.headers.get("access-control-allow-methods"),
      "GET, HEAD, PUT, DELETE, OPTIONS",
      "the methods served on that path (PUT and DELETE of /users/:id), nothing else",
    );
    assert.equal(r.headers.get("access-control-allow-headers"), "content-type");
    const users = await t.request("/api/v1/users/42", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "PUT" },
    });
    assert.equal(users.headers.get("access-control-allow-methods"), "GET, HEAD, PUT, DELETE, OPTIONS");
    const unknown = await t.request("/api/v1/nope", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "GET" },
    });
    assert.equal(unknown.status, 404);
  });

  it("adds no CORS header outside /api/v1", async () => {
    const r = await testApp().request("/elsewhere", { headers: { Origin: "https://app.example" } });
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  });
});

describe("users", () => {
  it("creates a user and returns its JSON in the original's key order, without the password", async () => {
    const t = testApp();
    const r = await t.json("/api/v1/users", "POST", {
      email: "bob@hbtn.io",
      password: "H0lbertonSchool98!",
      first_name: "Bob",
      last_name: "Dylan",
    });
    assert.equal(r.status, 201);
    const text = await r.text();
    const u = JSON.parse(text);
    assert.deepEqual(Object.keys(u), USER_KEYS);
    assert.equal(u.email, "bob@hbtn.io");
    assert.equal(u.first_name, "Bob");
    assert.match(u.created_at, TS);
    assert.equal(u.created_at, u.updated_at);
    assert.match(u.id, /^[0-9a-f-]{36}$/);
    assert.ok(!text.includes("password"));
  });

  it("sets unset names to null", async () => {
    const u = await testApp().createUser("n@x.io");
    assert.equal(u.first_name, null);
    assert.equal(u.last_name, null);
  });

  it("lists users in creation order, gets one, and 404s an unknown id", async () => {
    const t = testApp();
    const a = await t.createUser("a@x.io");
    const b = await t.createUser("b@x.io");
    const list = (await (await t.request("/api/v1/users")).json()) as { id: string }[];
    assert.deepEqual(list.map((u) => u.id), [a.id, b.id]);
    assert.deepEqual(await (await t.request(`/api/v1/users/${b.id}/`)).json(), b);
    const missing = await t.request("/api/v1/users/nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "Not found" });
  });

  it("GET /users/me is 404 without an auth type", async () => {
    const r = await testApp().request("/api/v1/users/me");
    assert.equal(r.status, 404);
  });

  // As in the original: GET /users/me is the current user, while PUT and
  // DELETE of /users/me are those of /users/:id with the id "me", which no
  // user has. Under every auth type, with and without a trailing slash.
  const password = "Passw0rd-123";
  const credentials: [string, (t: ReturnType<typeof testApp>) => Promise<Record<string, string>>][] = [
    ["", () => Promise.resolve({})],
    ["basic_auth", () => Promise.resolve({ Authorization: basic("me@hbtn.io", password) })],
    ...["session_auth", "session_exp_auth", "session_db_auth"].map((
      type,
    ): [string, (t: ReturnType<typeof testApp>) => Promise<Record<string, string>>] => [
      type,
      async (t) => ({ Cookie: cookieOf(await t.form("/api/v1/auth_session/login", { email: "me@hbtn.io", password })) }),
    ]),
  ];
  for (const [type, authOf] of credentials) {
    it(`${type || "no auth type"}: PUT and DELETE /users/me reach /users/:id with the id "me": 404`, async () => {
      const t = testApp({ env: { AUTH_TYPE: type } });
      const me = await t.seed("me@hbtn.io", password);
      const headers = await authOf(t);
      const get = await t.request("/api/v1/users/me", { headers });
      if (type) assert.equal((await get.json()).id, me.id);
      else assert.equal(get.status, 404);
      for (const path of ["/api/v1/users/me", "/api/v1/users/me/"]) {
        const put = await t.json(path, "PUT", { first_name: "Changed" }, headers);
        assert.equal(put.status, 404, `PUT ${path}`);
        assert.deepEqual(await put.json(), { error: "Not found" });
        const del = await t.request(path, { method: "DELETE", headers });
        assert.equal(del.status, 404, `DELETE ${path}`);
        assert.deepEqual(await del.json(), { error: "Not found" });
      }
      const options = await t.request("/api/v1/users/me", { method: "OPTIONS", headers });
      assert.equal(options.headers.get("allow"), "GET, HEAD, PUT, DELETE, OPTIONS");
      // The user is still there, unchanged.
      const stored = await t.driver.getUser(me.id);
      assert.equal(stored?.first_name, null);
      if (type) {
        // Without credentials, as any path that needs them.
        assert.equal((await t.json("/api/v1/users/me", "PUT", { first_name: "Changed" })).status, 401);
        assert.equal((await t.request("/api/v1/users/me", { method: "DELETE" })).status, 401);
      }
    });
  }

  it("auth: PUT and DELETE /users/me are refused as every protected path is, not 405", async () => {
    const t = testApp({ env: { AUTH_TYPE: "auth" } });
    for (const method of ["PUT", "DELETE"]) {
      assert.equal((await t.request("/api/v1/users/me", { method })).status, 401);
      assert.equal((await t.request("/api/v1/users/me", { method, headers: { Authorization: "Basic eA==" } })).status, 403);
    }
  });

  it("answers Wrong format to every body that is not a JSON object", async () => {
    const t = testApp();
    const bodies: [string | undefined, string | null][] = [
      [undefined, "application/json"],
      ["", "application/json"],
      ["{bad json", "application/json"],
      ["null", "application/json"],
      ["[]", "application/json"],
      ['"str"', "application/json"],
      ["42", "application/json"],
      ['{"email":"a@b.c","password":"Passw0rd-123"}', "text/plain"],
      ['{"email":"a@b.c","password":"Passw0rd-123"}', null],
    ];
    for (const [body, type] of bodies) {
      const headers: Record<string, string> = type ? { "content-type": type } : {};
      const r = await t.request("/api/v1/users", { method: "POST", headers, body });
      assert.equal(r.status, 400, `${type} ${body}`);
      assert.deepEqual(await r.json(), { error: "Wrong format" });
    }
    // Invalid UTF-8 inside a JSON string.
    const bad = new Uint8Array([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    const r = await t.request("/api/v1/users", { method: "POST", headers: { "content-type": "application/json" }, body: bad });
    assert.equal(r.status, 400);
    assert.equal(await t.driver.countUsers(), 0);
  });

  it("accepts application/*+json and media type parameters", async () => {
    const t = testApp();
    for (const [i, type] of ["application/json; charset=utf-8", "application/vnd.api+json", "Application/JSON"].entries()) {
      const r = await t.request("/api/v1/users", {
        method: "POST",
        headers: { "content-type": type },
        body: JSON.stringify({ email: `t${i}@x.io`, password: "Passw0rd-123" }),
      });
      assert.equal(r.status, 201, type);
    }
  });

  it("checks email first, then password; a non-string counts as missing", async () => {
    const t = testApp();
    const cases: [unknown, string][] = [
      [{}, "email missing"],
      [{ email: "", password: "" }, "email missing"],
      [{ email: null, password: "Passw0rd-123" }, "email missing"],
      [{ email: 5, password: "Passw0rd-123" }, "email missing"],
      [{ email: ["a"], password: "Passw0rd-123" }, "email missing"],
      [{ email: "a@x.io" }, "password missing"],
      [{ email: "a@x.io", password: "" }, "password missing"],
      [{ email: "a@x.io", password: 12345678 }, "password missing"],
      [{ email: "a@x.io", password: null }, "password missing"],
    ];
    for (const [body, error] of cases) {
      const r = await t.json("/api/v1/users", "POST", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(await r.json(), { error }, JSON.stringify(body));
    }
    assert.equal(await t.driver.countUsers(), 0);
  });

  it("refuses a duplicate email, compared case-insensitively", async () => {
    const t = testApp();
    await t.createUser("Dup@X.io");
    const r = await t.json("/api/v1/users", "POST", { email: "dup@x.IO", password: "Passw0rd-123" });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { error: "Can't create User: email already exists" });
    assert.equal(await t.driver.countUsers(), 1);
  });

  it("refuses short and long passwords and long names", async () => {
    const t = testApp();
    for (
      const body of [
        { email: "a@x.io", password: "short" },
        { email: "a@x.io", password: "x".repeat(1025) },
        { email: "a@x.io", password: "Passw0rd-123", first_name: "n".repeat(257) },
        { email: "a@x.io", password: "Passw0rd-123", last_name: 5 },
      ]
    ) {
      const r = await t.json("/api/v1/users", "POST", body);
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { error: string }).error, /^Can't create User: /);
    }
    assert.equal(await t.driver.countUsers(), 0);
    const env = testApp({ env: { PASSWORD_MIN_LENGTH: "3" } });
    assert.equal((await env.json("/api/v1/users", "POST", { email: "a@x.io", password: "k9w" })).status, 201);
  });

  it("answers 413 to a body over the limit", async () => {
    const t = testApp();
    const r = await t.json("/api/v1/users", "POST", { email: "a@x.io", password: "Passw0rd-123", first_name: "x".repeat(70_000) });
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { error: string }).error.length > 0, true);
  });

  it("ignores client-supplied id, timestamps, hash and unknown fields", async () => {
    const t = testApp();
    const u = await t.createUser("a@x.io", "Passw0rd-123", { id: "mine", created_at: "2000-01-01T00:00:00", _password: "x", admin: true });
    assert.notEqual(u.id, "mine");
    assert.notEqual(u.created_at, "2000-01-01T00:00:00");
    assert.deepEqual(Object.keys(u), USER_KEYS);
  });

  it("PUT updates names only when present and not null; {} is a no-op; updated_at moves", async () => {
    let now = Date.UTC(2025, 0, 1);
    const t = testApp({ now: () => now });
    const u = await t.createUser("a@x.io", "Passw0rd-123", { first_name: "A", last_name: "B" });
    now += 5000;
    let r = await t.json(`/api/v1/users/${u.id}`, "PUT", { first_name: "Ann", last_name: null, email: "evil@x.io", id: "x" });
    assert.equal(r.status, 200);
    let v = (await r.json()) as Record<string, string>;
    assert.equal(v.first_name, "Ann");
    assert.equal(v.last_name, "B");
    assert.equal(v.email, "a@x.io");
    assert.equal(v.id, u.id);
    assert.equal(v.created_at, u.created_at);
    assert.equal(v.updated_at, "2025-01-01T00:00:05");
    r = await t.json(`/api/v1/users/${u.id}/`, "PUT", { last_name: "" });
    v = (await r.json()) as Record<string, string>;
    assert.equal(v.last_name, "");
    r = await t.json(`/api/v1/users/${u.id}`, "PUT", {});
    assert.equal(r.status, 200);
  });

  it("PUT checks the id before the body", async () => {
    const t = testApp();
    const r = await t.request("/api/v1/users/nope", { method: "PUT", body: "garbage", headers: { "content-type": "text/plain" } });
    assert.equal(r.status, 404);
    const u = await t.createUser("a@x.io");
    const w = await t.request(`/api/v1/users/${u.id}`, { method: "PUT", body: "[1]", headers: { "content-type": "application/json" } });
    assert.equal(w.status, 400);
    assert.deepEqual(await w.json(), { error: "Wrong format" });
  });

  it("DELETE removes a user and answers {}; again is 404", async () => {
    const t = testApp();
    const u = await t.createUser("a@x.io");
    const r = await t.request(`/api/v1/users/${u.id}`, { method: "DELETE" });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {});
    assert.equal((await t.request(`/api/v1/users/${u.id}`)).status, 404);
    assert.equal((await t.request(`/api/v1/users/${u.id}`, { method: "DELETE" })).status, 404);
  });
});

describe("storage failures", () => {
  it("a failed write is a JSON 503, logged; reads go on", async () => {
    const { createMemoryDriver } = await import("../src/storage/memory/index.ts");
    const { StorageUnavailableError } = await import("../src/domain/errors.ts");
    const { createApp } = await import("../src/app/create-app.ts");
    const { parseConfig } = await import("../src/app/config.ts");
    const { createLogger } = await import("../src/lib/log.ts");
    const inner = createMemoryDriver();
    let failing = false;
    const driver = {
      ...inner,
      createUser: (u: Parameters<typeof inner.createUser>[0]) =>
        failing ? Promise.reject(new StorageUnavailableError("disk full (ENOSPC)")) : inner.createUser(u),
    };
    const lines: string[] = [];
    const app = createApp({ config: parseConfig({}, "/"), driver, log: createLogger("info", (l) => lines.push(l)), hasher: testHasher });
    const post = (email: string) =>
      app.request("http://localhost/api/v1/users", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: "Passw0rd-123" }),
      });
    assert.equal((await post("a@x.io")).status, 201);
    failing = true;
    const r = await post("b@x.io");
    assert.equal(r.status, 503);
    assert.match(r.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await r.json(), { error: "Storage unavailable, try again later" });
    assert.ok(lines.some((l) => /storage unavailable on POST \/api\/v1\/users: disk full/.test(l)), lines.join("\n"));
    const list = await app.request("http://localhost/api/v1/users");
    assert.equal(list.status, 200);
    assert.equal(((await list.json()) as unknown[]).length, 1);
  });
});

describe("a public method on a path whose other methods are not", () => {
  it("under SIGNUP=open, POST /users needs no credentials, under every auth type; GET /users still does", async () => {
    for (const type of ["basic_auth", "session_auth", "session_db_auth"]) {
      const t = testApp({ env: { AUTH_TYPE: type, SIGNUP: "open" } });
      for (const [i, path] of ["/api/v1/users", "/api/v1/users/"].entries()) {
        const body = JSON.stringify({ email: `new-${i}@hbtn.io`, password: "Silver-Kite-77" });
        const r = await t.request(path, { method: "POST", headers: { "Content-Type": "application/json" }, body });
        assert.equal(r.status, 201, `${type} POST ${path}: ${await r.text()}`);
      }
      assert.equal((await t.request("/api/v1/users")).status, 401, type);
      assert.equal((await t.request("/api/v1/users", { method: "HEAD" })).status, 401, type);
      assert.equal((await t.request("/api/v1/users/me")).status, 401, type);
    }
  });
});
