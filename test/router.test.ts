import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ApiRouter } from "../src/http/router.ts";
import { createPathMatcher, type Route } from "../src/http/routes.ts";

const names = (r: ApiRouter<string>, method: string, path: string) => (r.match(method, path)[0] as [string, Record<string, string>][]);

describe("ApiRouter", () => {
  const r = new ApiRouter<string>();
  r.add("ALL", "*", "mw");
  r.add("GET", "/api/v1/users/me", "me");
  r.add("GET", "/api/v1/users/:id", "byId");
  r.add("PUT", "/api/v1/users/me/password", "password");
  r.add("DELETE", "/api/v1/auth_session/sessions/:id", "endOne");

  it("answers in registration order: middleware, the static route, then the pattern", () => {
    assert.deepEqual(names(r, "GET", "/api/v1/users/me"), [["mw", {}], ["me", {}], ["byId", { id: "me" }]]);
    // A second request gets the same answer (the static part is kept).
    assert.deepEqual(names(r, "GET", "/api/v1/users/me"), [["mw", {}], ["me", {}], ["byId", { id: "me" }]]);
  });

  it("takes a pattern's parameters, one non-empty segment each", () => {
    assert.deepEqual(names(r, "GET", "/api/v1/users/42"), [["mw", {}], ["byId", { id: "42" }]]);
    assert.deepEqual(names(r, "GET", "/api/v1/users/42"), [["mw", {}], ["byId", { id: "42" }]]);
    assert.deepEqual(names(r, "GET", "/api/v1/users/43"), [["mw", {}], ["byId", { id: "43" }]]);
    assert.deepEqual(names(r, "GET", "/api/v1/users/"), [["mw", {}]]);
    assert.deepEqual(names(r, "GET", "/api/v1/users/42/x"), [["mw", {}]]);
    assert.deepEqual(names(r, "DELETE", "/api/v1/auth_session/sessions/abc"), [["mw", {}], ["endOne", { id: "abc" }]]);
  });

  it("matches the method, and gives unknown paths the middleware only", () => {
    assert.deepEqual(names(r, "POST", "/api/v1/users/me"), [["mw", {}]]);
    assert.deepEqual(names(r, "PUT", "/api/v1/users/me/password"), [["mw", {}], ["password", {}]]);
    for (let i = 0; i < 3; i++) assert.deepEqual(names(r, "GET", `/nowhere/${i}`), [["mw", {}]]);
  });

  it("refuses paths it cannot serve when they are added", () => {
    for (const p of ["/a/:id{[0-9]+}", "/a/:id?", "/a/*/b", "relative"]) {
      assert.throws(() => new ApiRouter().add("GET", p, "x"), /cannot serve/);
    }
  });

  it("routes a Hono app as Hono's own router does, parameters decoded", async () => {
    const app = new Hono({ strict: false, router: new ApiRouter() });
    app.use("*", async (c, next) => {
      await next();
      c.header("x-mw", "1");
    });
    app.get("/users/me", (c) => c.text("me"));
    app.get("/users/:id", (c) => c.text(`id=${c.req.param("id")}`));
    const get = async (p: string) => {
      const res = await app.request(p);
      return [res.status, await res.text(), res.headers.get("x-mw")];
    };
    assert.deepEqual(await get("/users/me"), [200, "me", "1"]);
    assert.deepEqual(await get("/users/me/"), [200, "me", "1"]);
    assert.deepEqual(await get("/users/a%20b"), [200, "id=a b", "1"]);
    assert.deepEqual(await get("/nope"), [404, "404 Not Found", "1"]);
    assert.equal((await app.request("/users/me", { method: "HEAD" })).status, 200);
  });
});

describe("ApiRouter's kept answers", () => {
  it("stay bounded whatever methods and paths clients send", () => {
    const r = new ApiRouter<string>();
    r.add("ALL", "*", "mw");
    r.add("GET", "/a", "a");
    r.add("GET", "/a/:id", "one");
    for (let i = 0; i < 1000; i++) {
      r.match(`M${i}`, "/a");
      r.match("GET", `/a/${i}`);
      r.match("GET", `/x${i}`);
    }
    assert.deepEqual(r.match("GET", "/a")[0], [["mw", {}], ["a", {}]]);
    assert.deepEqual(r.match("M7", "/a")[0], [["mw", {}]]);
    assert.deepEqual(r.match("GET", "/a/7")[0], [["mw", {}], ["one", { id: "7" }]]);
    assert.equal(r.keptAnswers, 1, "only GET /a is kept");
  });
});

describe("the gate's path matcher, on the dispatch's router", () => {
  const route = (method: Route["method"], path: string, isPublic = false): Route => ({
    method,
    path,
    public: isPublic,
    summary: "",
    responses: {},
    handler: (c) => c.text(""),
  });
  const match = createPathMatcher([
    route("GET", "/api/v1/status", true),
    route("GET", "/api/v1/users/me"),
    route("GET", "/api/v1/users/:id"),
    route("PUT", "/api/v1/users/:id"),
    route("DELETE", "/api/v1/users/:id"),
    route("POST", "/open/:name", true),
    route("GET", "/open/closed"),
  ]);

  it("gives a path the methods of every declared path it matches", () => {
    for (const path of ["/api/v1/users/me", "/api/v1/users/me/", "/api/v1/users/42"]) {
      assert.equal(match(path)?.allow, "GET, HEAD, PUT, DELETE, OPTIONS", path);
      assert.equal(match(path)?.public, false, path);
    }
    assert.deepEqual(match("/api/v1/status"), {
      public: true,
      publicMethods: new Set(["GET"]),
      allow: "GET, HEAD, OPTIONS",
      allowed: new Set(["GET", "HEAD", "OPTIONS"]),
    });
  });

  it("makes a path public only when every declared path it matches is", () => {
    assert.equal(match("/open/door")?.public, true);
    assert.equal(match("/open/closed")?.public, false);
    assert.equal(match("/open/closed")?.allow, "GET, HEAD, POST, OPTIONS");
  });

  it("knows nothing else, an extra trailing slash or an empty segment included", () => {
    for (const path of ["/nowhere", "/api/v1/users", "/api/v1/users/", "/api/v1/users/me/x", "/api/v1/status//", "/open/"]) {
      assert.equal(match(path), null, path);
    }
  });
});
