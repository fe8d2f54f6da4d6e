import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { z } from "zod";
import { cookieOf, testApp } from "./helpers/app.ts";
import { ROOT } from "./helpers/server.ts";
import { isApiRoute, openApiPath } from "../src/http/openapi.ts";
import { PAGE_FILES } from "../src/http/page-routes.ts";
import { AuthTypeAnswer, ErrorAnswer, SessionAnswer, UserAnswer } from "../src/http/schemas.ts";

/**
 * The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3.1 (checked
 * by an independent validator), and true to the app: it lists exactly the
 * routes the app declares, and the app itself answers every documented
 * operation and no other method on a documented path.
 */

type Operation = {
  operationId: string;
  summary: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { required: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<string, { description?: string; $ref?: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
};
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
    responses: Record<string, unknown>;
    securitySchemes: Record<string, Record<string, string>>;
  };
};

const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const PASSWORD = "correct-Horse-9";

async function documented(env: Record<string, string> = { AUTH_TYPE: "session_db_auth" }) {
  const t = testApp({ env });
  const r = await t.request("/api/v1/openapi.json");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  return { t, doc: (await r.json()) as Doc };
}

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, op }))
  );

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1, with the package's name and version", async () => {
    const { doc } = await documented();
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual([doc.info.title, doc.info.version], [PKG.name, PKG.version]);
  });

  it("lists exactly the app's routes, each once, with a unique operation id", async () => {
    const { t, doc } = await documented();
    const inDoc = operations(doc).map((o) => `${o.method} ${o.path}`).sort();
    const inApp = t.app.routes.filter(isApiRoute).map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    assert.deepEqual(inDoc, inApp);
    assert.equal(new Set(inApp).size, inApp.length, "no route declared twice");
    const ids = operations(doc).map((o) => o.op.operationId);
    assert.equal(new Set(ids).size, ids.length);
    for (
      const expected of [
        "GET /api/v1/openapi.json",
        "GET /api/v1/auth_type",
        "GET /api/v1/health",
        "DELETE /api/v1/auth_session/sessions/{id}",
      ]
    ) {
      assert.ok(inDoc.includes(expected), expected);
    }
    // Pages are for browsers, not API operations: the sign-in page, its files, the reference's own files.
    for (const page of PAGE_FILES) assert.equal(doc.paths[page.path], undefined, page.path);
    assert.deepEqual(Object.keys(doc.paths).filter((p) => !p.startsWith("/api/v1/")), []);
  });

  it("describes each operation: summary, path parameters, bodies and their media types, security", async () => {
    const { t, doc } = await documented();
    for (const r of t.app.routes.filter(isApiRoute)) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      const where = `${r.method} ${r.path}`;
      assert.equal(op.summary, r.summary, where);
      const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      assert.deepEqual((op.parameters ?? []).map((p) => [p.name, p.in, p.required]), params.map((p) => [p, "path", true]), where);
      assert.equal(op.requestBody !== undefined, r.body !== undefined, where);
      if (r.public && !r.sessionOnly) assert.deepEqual(op.security, [], `${where} is public`);
      else if (r.sessionOnly) assert.deepEqual(op.security, [{ sessionCookie: [] }], where);
      else assert.deepEqual(op.security, [{ basicAuth: [] }, { sessionCookie: [] }], where);
    }
    const login = doc.paths["/api/v1/auth_session/login"].post;
    assert.deepEqual(Object.keys(login.requestBody!.content), [
      "application/json",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/api/v1/users"].post.requestBody!.content), ["application/json"]);
    // Request bodies as the handlers read them: unknown fields are ignored, so not forbidden.
    const newUser = doc.components.schemas.NewUser as Record<string, unknown>;
    assert.deepEqual(newUser.required, ["email", "password"]);
    assert.equal(newUser.additionalProperties, undefined);
    for (const p of ["/api/v1/status", "/api/v1/openapi.json", "/api/v1/health"]) assert.deepEqual(doc.paths[p].get.security, []);
  });

  it("documents every status a route declares, the common ones, and errors as {error: string}", async () => {
    const { t, doc } = await documented();
    const refTo = (op: Operation, status: number) => op.responses[status]?.$ref;
    for (const r of t.app.routes.filter(isApiRoute)) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      const where = `${r.method} ${r.path}`;
      for (const status of Object.keys(r.responses)) assert.ok(op.responses[status], `${where} ${status}`);
      for (const [status, answer] of Object.entries(op.responses)) {
        if (Number(status) >= 400 && !answer.$ref && !r.answers?.[Number(status)]) {
          assert.deepEqual(answer.content?.["application/json"].schema, { $ref: "#/components/schemas/Error" }, `${where} ${status}`);
        }
      }
      assert.ok(op.responses[500], where);
      if (!r.public || r.sessionOnly) { for (const s of [401, 403]) assert.ok(op.responses[s], `${where} ${s}`); }
      if (!r.public) assert.ok(op.responses[429], `${where} 429 (Basic credentials are throttled)`);
      if (r.body) assert.ok(op.responses[413], `${where} 413`);
      if (r.path.includes(":")) assert.ok(op.responses[404], `${where} 404`);
      if (!r.answers?.[503]) {
        assert.equal(refTo(op, 503), "#/components/responses/StorageUnavailable", where);
      }
    }
    // The health check's 503 is its own shape, not an error.
    assert.deepEqual(doc.paths["/api/v1/health"].get.responses[503].content?.["application/json"].schema, {
      $ref: "#/components/schemas/Unhealthy",
    });
    assert.deepEqual(doc.paths["/api/v1/health"].get.security, []);
    for (
      const name of ["Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed", "PayloadTooLarge", "TooManyRequests", "InternalError"]
    ) {
      assert.ok(doc.components.responses[name], name);
    }
    assert.deepEqual(doc.components.schemas.Error, {
      type: "object",
      properties: { error: { type: "string", example: "Not found" } },
      required: ["error"],
      additionalProperties: false,
    });
  });

  it("names the security schemes: HTTP Basic and the session cookie of SESSION_NAME", async () => {
    const { doc } = await documented({ AUTH_TYPE: "session_auth", SESSION_NAME: "sid_42" });
    assert.deepEqual(
      { ...doc.components.securitySchemes.basicAuth, description: undefined },
      { type: "http", scheme: "basic", description: undefined },
    );
    assert.deepEqual(
      { ...doc.components.securitySchemes.sessionCookie, description: undefined },
      { type: "apiKey", in: "cookie", name: "sid_42", description: undefined },
    );
  });

  it("is made once per app: every request gets the same text", async () => {
    const t = testApp();
    const texts = await Promise.all([1, 2, 3].map(async () => await (await t.request("/api/v1/openapi.json")).text()));
    assert.equal(new Set(texts).size, 1);
  });

  it("shows the answers as the API sends them: the user, the session list, the error, the auth type", async () => {
    const { t, doc } = await documented();
    await t.seed("bob@hbtn.io", PASSWORD);
    const login = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD });
    const cookie = cookieOf(login);
    const me = await (await t.request("/api/v1/users/me", { headers: { Cookie: cookie } })).json();
    UserAnswer.parse(me);
    assert.deepEqual(Object.keys(me as object), doc.components.schemas.User.required);
    const sessions = await (await t.request("/api/v1/auth_session/sessions", { headers: { Cookie: cookie } })).json();
    z.array(SessionAnswer).parse(sessions);
    assert.deepEqual(Object.keys((sessions as object[])[0]), doc.components.schemas.Session.required);
    ErrorAnswer.parse(await (await t.request("/api/v1/users/nope", { headers: { Cookie: cookie } })).json());
    assert.deepEqual(AuthTypeAnswer.parse(await (await t.request("/api/v1/auth_type")).json()), {
      auth_type: "session_db_auth",
      sessions: true,
    });
  });
});

describe("the app answers what the document says, and nothing else", () => {
  it("every documented operation reaches its route (never a 404 `Not found` for the path), with real ids", async () => {
    const { t, doc } = await documented();
    const bob = await t.seed("bob@hbtn.io", PASSWORD);
    let client = 0;
    const login = async () => {
      const r = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD }, {
        "X-Forwarded-For": `192.0.2.${++client}`,
      });
      assert.equal(r.status, 200);
      return cookieOf(r);
    };
    for (const { method, path } of operations(doc)) {
      const cookie = await login();
      let id = bob.id;
      if (path.startsWith("/api/v1/auth_session/sessions/")) {
        await login();
        const list = (await (await t.request("/api/v1/auth_session/sessions", { headers: { Cookie: cookie } })).json()) as {
          id: string;
          current: boolean;
        }[];
        id = list.find((s) => !s.current)!.id;
      } else if (path.startsWith("/api/v1/users/me/passkeys/")) {
        // A passkey of Bob's, stored as a registration would have.
        id = `key-${client}`;
        const passkey = {
          id,
          public_key: "AA",
          counter: 0,
          transports: [],
          name: "Key",
          created_at: "2025-01-01T00:00:00",
          last_used_at: null,
        };
        await t.driver.updateAccount(bob.id, (a) => ({ account: { ...a, passkeys: [...a.passkeys, passkey] }, result: null }));
      } else if (method === "DELETE") id = (await t.seed(`victim${client}@hbtn.io`, PASSWORD)).id;
      const url = path.replace("{id}", id);
      const body = method === "POST" || method === "PUT" ? "{}" : undefined;
      const r = await t.request(url, { method, headers: { Cookie: cookie, "content-type": "application/json" }, body });
      const text = await r.text();
      assert.ok(r.status !== 404 && r.status !== 405, `${method} ${url}: ${r.status} ${text}`);
    }
  });

  it("OPTIONS on each documented path allows exactly the documented methods of the paths it matches (HEAD with GET)", async () => {
    const { t, doc } = await documented();
    const bob = await t.seed("bob@hbtn.io", PASSWORD);
    const cookie = cookieOf(await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: PASSWORD }));
    // A template's `{name}` takes one non-empty segment: /users/me is also /users/{id}.
    const matches = (template: string, path: string) => {
      const [a, b] = [template.split("/"), path.split("/")];
      return a.length === b.length && a.every((s, i) => (/^\{.+\}$/.test(s) ? b[i] !== "" : s === b[i]));
    };
    for (const path of Object.keys(doc.paths)) {
      const concrete = path.replace("{id}", bob.id);
      const r = await t.request(concrete, { method: "OPTIONS", headers: { Cookie: cookie } });
      assert.equal(r.status, 204, path);
      const allow = (r.headers.get("allow") ?? "").split(",").map((s) => s.trim()).sort();
      const methods = new Set(
        Object.entries(doc.paths).filter(([p]) => matches(p, concrete)).flatMap(([, item]) =>
          Object.keys(item).map((m) => m.toUpperCase())
        ),
      );
      const expected = [...methods, ...(methods.has("GET") ? ["HEAD"] : []), "OPTIONS"].sort();
      assert.deepEqual(allow, expected, path);
    }
  });

  it("paths near the documented ones are not answered", async () => {
    const t = testApp();
    for (
      const path of [
        "/api/v1/openapi.yaml",
        "/api/v1/docs/index.html",
        "/api/v1/docs/swagger-ui.js",
        "/assets/",
        "/assets/other.js",
        "/index.html",
      ]
    ) {
      const r = await t.request(path);
      assert.equal(r.status, 404, path);
      assert.deepEqual(await r.json(), { error: "Not found" });
    }
  });
});
