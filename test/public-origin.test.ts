import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createOrigins } from "../src/http/origin.ts";
import { crossSiteReason } from "../src/http/auth.ts";
import { parseConfig } from "../src/app/config.ts";
import { cookieOf, testApp } from "./helpers/app.ts";

/**
 * The public origin behind a proxy: nginx's default passes `Host` as its
 * upstream address (127.0.0.1:port), so same-origin browser logins depend on
 * the trusted proxy's forwarded headers, or on PUBLIC_URL.
 */

const at = (headers: Record<string, string>, url = "http://127.0.0.1:5000/api/v1/auth_session/login") => new Request(url, { headers });

describe("the public origin", () => {
  it("is the request's own scheme and Host when no proxy is trusted, whatever forwarded headers say", () => {
    const o = createOrigins({ publicUrl: null, trustProxy: 0, cookieSecure: "auto" });
    const req = at({ host: "127.0.0.1:5000", "x-forwarded-host": "auth.example.com", "x-forwarded-proto": "https" });
    assert.equal(o.publicOrigin(req), "http://127.0.0.1:5000");
    assert.equal(o.isHttps(req), false);
  });

  it("comes from the trusted hop's X-Forwarded-Host / -Proto, or its Forwarded element, never from entries the client wrote", () => {
    const o = createOrigins({ publicUrl: null, trustProxy: 1, cookieSecure: "auto" });
    const xf = at({ host: "127.0.0.1:5000", "x-forwarded-host": "Auth.Example.com", "x-forwarded-proto": "https" });
    assert.equal(o.publicOrigin(xf), "https://auth.example.com");
    assert.equal(o.isHttps(xf), true);
    // The client sent "evil.example"; the proxy appended what it saw.
    const appended = at({
      host: "127.0.0.1:5000",
      "x-forwarded-host": "evil.example, auth.example.com:8443",
      "x-forwarded-proto": "http, https",
    });
    assert.equal(o.publicOrigin(appended), "https://auth.example.com:8443");
    const fwd = at({
      host: "127.0.0.1:5000",
      forwarded: 'for=1.2.3.4;host=evil.example, for=5.6.7.8;proto=https;host="auth.example.com:443"',
    });
    assert.equal(o.publicOrigin(fwd), "https://auth.example.com");
    // Garbage in a forwarded host is not believed: the request's own Host stands.
    assert.equal(o.publicOrigin(at({ host: "127.0.0.1:5000", "x-forwarded-host": "a b/c" })), "http://127.0.0.1:5000");
    // Two trusted hops: the entry the outer proxy added.
    const two = createOrigins({ publicUrl: null, trustProxy: 2, cookieSecure: "auto" });
    assert.equal(
      two.publicOrigin(at({ host: "10.0.0.2", "x-forwarded-host": "forged.example, auth.example.com, lb.internal" })),
      "http://auth.example.com",
    );
  });

  it("is PUBLIC_URL when set, over every header; COOKIE_SECURE still decides Secure when not auto", () => {
    const o = createOrigins({ publicUrl: "https://auth.example.com", trustProxy: 1, cookieSecure: "auto" });
    const req = at({ host: "127.0.0.1:5000", "x-forwarded-host": "other.example", "x-forwarded-proto": "http" });
    assert.equal(o.publicOrigin(req), "https://auth.example.com");
    assert.equal(o.isHttps(req), true);
    assert.equal(createOrigins({ publicUrl: "https://auth.example.com", trustProxy: 0, cookieSecure: "never" }).isHttps(req), false);
  });

  it("says why a request is cross-site", () => {
    assert.equal(crossSiteReason(at({ "sec-fetch-site": "cross-site" }), [], "http://127.0.0.1:5000"), "Sec-Fetch-Site: cross-site");
    assert.equal(
      crossSiteReason(at({ origin: "https://x.example" }), [], "https://y.example"),
      'origin "https://x.example" does not match https://y.example',
    );
    assert.equal(crossSiteReason(at({ origin: "https://Y.example:443" }), [], "https://y.example"), null);
    assert.equal(
      crossSiteReason(at({ origin: "https://app.example", "sec-fetch-site": "cross-site" }), ["https://app.example"], "https://y.example"),
      null,
    );
    assert.match(crossSiteReason(at({ origin: "null" }), [], "https://y.example") ?? "", /^origin "null" is not an origin/);
  });

  it("PUBLIC_URL must be an origin: one clear line otherwise", () => {
    assert.equal(parseConfig({ PUBLIC_URL: "https://Auth.Example.com/" }, "/").publicUrl, "https://auth.example.com");
    assert.equal(parseConfig({}, "/").publicUrl, null);
    for (
      const bad of [
        "auth.example.com",
        "ftp://auth.example.com",
        "https://auth.example.com/app",
        "https://u:p@auth.example.com",
        "https://a.example?x=1",
      ]
    ) {
      assert.throws(
        () => parseConfig({ PUBLIC_URL: bad }, "/"),
        (e: Error) => e.message.startsWith(`PUBLIC_URL=${JSON.stringify(bad)}`) || /PUBLIC_URL/.test(e.message),
        bad,
      );
    }
  });
});

describe("browser logins behind a proxy that does not pass Host", () => {
  const nginxDefaults = (origin: string, extra: Record<string, string> = {}) => ({
    Host: "127.0.0.1:5000",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Host": "auth.example.com",
    "X-Forwarded-Proto": "https",
    Origin: origin,
    "Sec-Fetch-Site": "same-origin",
    ...extra,
  });
  const creds = { email: "bob@hbtn.io", password: "Passw0rd-123" };

  it("log in with TRUST_PROXY set; refused, with the reason logged, without it", async () => {
    const trusted = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "1" } });
    await trusted.seed(creds.email, creds.password);
    const ok = await trusted.form("/api/v1/auth_session/login", creds, nginxDefaults("https://auth.example.com"));
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("set-cookie") ?? "", /; Secure/);
    // A cookie-authenticated change from the same page passes the check too.
    const me = (await (await trusted.request("/api/v1/users/me", { headers: { Cookie: cookieOf(ok) } })).json()) as { id: string };
    const put = await trusted.json(`/api/v1/users/${me.id}`, "PUT", { first_name: "Bob" }, {
      ...nginxDefaults("https://auth.example.com"),
      Cookie: cookieOf(ok),
    });
    assert.equal(put.status, 200);

    const lines: string[] = [];
    const untrusted = testApp({ env: { AUTH_TYPE: "session_db_auth" }, logLines: lines });
    await untrusted.seed(creds.email, creds.password);
    const refused = await untrusted.form("/api/v1/auth_session/login", creds, nginxDefaults("https://auth.example.com"));
    assert.equal(refused.status, 403);
    const why = lines.find((l) => l.includes("cross_site_refused"));
    assert.ok(why, lines.join("\n"));
    assert.match(why, /origin \\?"https:\/\/auth\.example\.com\\?" does not match http:\/\/127\.0\.0\.1:5000/);
    assert.doesNotMatch(why, /Passw0rd/);
  });

  it("PUBLIC_URL makes the same login work without trusting forwarded headers, and refuses other origins", async () => {
    const lines: string[] = [];
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", PUBLIC_URL: "https://auth.example.com" }, logLines: lines });
    await t.seed(creds.email, creds.password);
    assert.equal((await t.form("/api/v1/auth_session/login", creds, nginxDefaults("https://auth.example.com"))).status, 200);
    const other = await t.form("/api/v1/auth_session/login", creds, nginxDefaults("http://127.0.0.1:5000"));
    assert.equal(other.status, 403);
    assert.ok(
      lines.some((l) => l.includes("cross_site_refused") && l.includes("does not match https://auth.example.com")),
      lines.join("\n"),
    );
  });

  it("a cross-site cookie request is refused with Sec-Fetch-Site as its logged reason", async () => {
    const lines: string[] = [];
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth", TRUST_PROXY: "1" }, logLines: lines });
    const user = await t.seed(creds.email, creds.password);
    const cookie = cookieOf(await t.form("/api/v1/auth_session/login", creds));
    const r = await t.json(`/api/v1/users/${user.id}`, "PUT", { first_name: "X" }, {
      Cookie: cookie,
      "Sec-Fetch-Site": "cross-site",
      Origin: "https://evil.example",
    });
    assert.equal(r.status, 403);
    const why = lines.find((l) => l.includes("cross_site_refused"));
    assert.ok(why && why.includes("Sec-Fetch-Site: cross-site"), lines.join("\n"));
    assert.ok(!why.includes(cookie.split("=")[1]), "the cookie is never logged");
  });
});
