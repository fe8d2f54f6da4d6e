import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cookieOf, installed, testApp } from "./helpers/app.ts";
import { PAGE_FILES } from "../src/http/page-routes.ts";

/**
 * The sign-in page and the API reference, as the app serves them (in
 * process; test/browser.test.ts drives them in a real browser): public
 * whatever the auth type, with the security headers, and made only of files
 * the app serves itself.
 */

const AUTH_TYPES = ["", "auth", "basic_auth", "session_auth", "session_exp_auth", "session_db_auth"];
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("the pages", () => {
  it("are public under every AUTH_TYPE, with their media types", async () => {
    for (const type of AUTH_TYPES) {
      const t = testApp({ env: { AUTH_TYPE: type } });
      for (const f of PAGE_FILES) {
        const r = await t.request(f.path);
        assert.equal(r.status, 200, `${f.path} under AUTH_TYPE=${type}`);
        assert.equal(r.headers.get("content-type")?.split(";")[0], f.media, f.path);
        assert.ok((await r.arrayBuffer()).byteLength > 0, f.path);
      }
      for (const p of ["/api/v1/openapi.json", "/api/v1/auth_type", "/api/v1/docs/", "/api/v1/docs/swagger-ui.css"]) {
        assert.equal((await t.request(p)).status, 200, `${p} under AUTH_TYPE=${type}`);
      }
      // Unknown paths stay behind authentication.
      assert.equal((await t.request("/assets/unknown.js")).status, type ? 401 : 404, `unknown path under AUTH_TYPE=${type}`);
    }
  });

  it("carry a strict Content-Security-Policy, nosniff, no referrer, no framing", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    for (const path of ["/", "/api/v1/docs", "/assets/sign-in.js"]) {
      const r = await t.request(path);
      const csp = r.headers.get("content-security-policy") ?? "";
      const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(" ")]));
      assert.equal(directives.get("default-src"), "'none'", path);
      assert.equal(directives.get("script-src"), "'self'", path);
      assert.equal(directives.get("style-src"), "'self'", path);
      assert.equal(directives.get("frame-ancestors"), "'none'", path);
      assert.equal(directives.get("connect-src"), "'self'", path);
      assert.doesNotMatch(csp, /unsafe-|\*|https?:/, path);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
      assert.equal(r.headers.get("referrer-policy"), "no-referrer");
      assert.equal(r.headers.get("x-frame-options"), "DENY");
      // Pages are not API answers: no CORS.
      assert.equal(r.headers.get("access-control-allow-origin"), null);
    }
  });

  it("load only files the app serves: no inline script or style, nothing from another host", async () => {
    const t = testApp();
    const { pages } = installed();
    for (const page of ["/", "/api/v1/docs"]) {
      const html = decode(pages.get(page)!);
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${page}: an inline script`);
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, `${page}: inline style or handler`);
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, `${page}: another host`);
      const refs = [...html.matchAll(/\s(?:src|href)="([^"#][^"]*)"/g)].map((m) => m[1]);
      assert.ok(refs.length >= 3, page);
      for (const ref of refs) {
        assert.ok(ref.startsWith("/"), `${page} refers to ${ref}`);
        assert.equal((await t.request(ref)).status, 200, `${page} refers to ${ref}`);
      }
    }
  });

  it("the sign-in scripts keep nothing where scripts can read it, and read no cookie", () => {
    const script = (path: string) => decode(installed().pages.get(path)!).replace(/^\s*\/\/.*$/gm, "");
    for (const path of ["/assets/sign-in.js", "/assets/account-flows.js"]) {
      assert.doesNotMatch(script(path), /localStorage|sessionStorage|indexedDB|document\.cookie/, path);
    }
    assert.match(script("/assets/sign-in.js"), /credentials: "same-origin"/);
    // The flows' requests go through sign-in.js's api(), with its same-origin credentials and its error words.
    assert.doesNotMatch(script("/assets/account-flows.js"), /\bfetch\(|XMLHttpRequest/);
  });

  it("answer 304 to a copy they have, and HEAD without a body", async () => {
    const t = testApp();
    const first = await t.request("/api/v1/docs/swagger-ui-bundle.js");
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^"[0-9a-z]+-[0-9a-z]+"$/);
    const again = await t.request("/api/v1/docs/swagger-ui-bundle.js", { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    const head = await t.request("/", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  it("are sent gzipped to clients that accept it, and as they are to the others", async () => {
    const t = testApp();
    const original = installed().pages.get("/api/v1/docs/swagger-ui-bundle.js")!;
    const r = await t.request("/api/v1/docs/swagger-ui-bundle.js", { headers: { "Accept-Encoding": "gzip, deflate, br" } });
    assert.equal(r.headers.get("content-encoding"), "gzip");
    assert.equal(r.headers.get("vary"), "Accept-Encoding");
    const zipped = new Uint8Array(await r.arrayBuffer());
    assert.ok(zipped.byteLength < original.byteLength / 2, `${zipped.byteLength} bytes gzipped`);
    const unzipped = new Uint8Array(
      await new Response(new Blob([zipped]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer(),
    );
    assert.deepEqual(unzipped, original);
    const etag = r.headers.get("etag")!;
    assert.notEqual(etag, (await t.request("/api/v1/docs/swagger-ui-bundle.js")).headers.get("etag"), "one ETag per encoding");
    const again = await t.request("/api/v1/docs/swagger-ui-bundle.js", { headers: { "Accept-Encoding": "gzip", "If-None-Match": etag } });
    assert.equal(again.status, 304);
    for (const header of ["identity", "gzip;q=0", "br"]) {
      const plain = await t.request("/api/v1/docs/swagger-ui-bundle.js", { headers: { "Accept-Encoding": header } });
      assert.equal(plain.headers.get("content-encoding"), null, header);
      assert.equal((await plain.arrayBuffer()).byteLength, original.byteLength, header);
    }
    // Too small to gain anything.
    const icon = await t.request("/assets/favicon.svg", { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(icon.headers.get("content-encoding"), null);
  });

  it("GET /api/v1/auth_type tells the sign-in page how the server authenticates", async () => {
    const expected: Record<string, unknown> = {
      "": { auth_type: null, sessions: false },
      auth: { auth_type: "auth", sessions: false },
      basic_auth: { auth_type: "basic_auth", sessions: false },
      session_auth: { auth_type: "session_auth", sessions: true },
      session_exp_auth: { auth_type: "session_exp_auth", sessions: true },
      session_db_auth: { auth_type: "session_db_auth", sessions: true },
    };
    for (const type of AUTH_TYPES) {
      const r = await testApp({ env: { AUTH_TYPE: type } }).request("/api/v1/auth_type");
      assert.deepEqual([r.status, await r.json()], [200, expected[type]], type);
    }
  });

  it("GET /page/session tells the sign-in page who it is signed in as, with 200 even when nobody is", async () => {
    for (const type of ["session_auth", "session_exp_auth", "session_db_auth"]) {
      const t = testApp({ env: { AUTH_TYPE: type } });
      await t.seed("ada@hbtn.io", "first-Pass-1", { first_name: "Ada" });
      const out = await t.request("/page/session");
      assert.deepEqual([out.status, await out.json()], [200, { user: null }], type);
      // Not an API answer: no CORS, never cached.
      assert.equal(out.headers.get("access-control-allow-origin"), null);
      assert.equal(out.headers.get("cache-control"), "no-store");
      const stale = await t.request("/page/session", { headers: { Cookie: "_my_session_id=not-a-session" } });
      assert.deepEqual([stale.status, await stale.json()], [200, { user: null }], `${type}: an unknown session`);
      const login = await t.form("/api/v1/auth_session/login", { email: "ada@hbtn.io", password: "first-Pass-1" });
      assert.equal(login.status, 200);
      const cookie = cookieOf(login);
      const me = await t.request("/api/v1/users/me", { headers: { Cookie: cookie } });
      const seen = await t.request("/page/session", { headers: { Cookie: cookie } });
      assert.deepEqual([seen.status, await seen.json()], [200, { user: await me.json() }], type);
      // The API's contract is unchanged: signed out, /users/me still refuses.
      assert.equal((await t.request("/api/v1/users/me")).status, 401);
    }
  });
});
