import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NEXT_MAX_LENGTH, nextForLog, type NextRules, nextVerdict } from "../src/lib/next-url.ts";
import { cookieOf, testApp } from "./helpers/app.ts";

/**
 * The sign-in page's `?next=`: the allow-list rule against the tricks
 * open-redirect probes use, and the page's route that applies it and logs
 * each refusal.
 */

const rules: NextRules = { ownHost: "auth.example.com", cookieDomain: "example.com" };
const followed = (raw: string, r: NextRules = rules) => {
  const v = nextVerdict(raw, r);
  return "url" in v ? v.url : null;
};

describe("the next rule", () => {
  it("follows https URLs on the service's own host or under COOKIE_DOMAIN, any port", () => {
    for (
      const [raw, to] of [
        ["https://auth.example.com/", "https://auth.example.com/"],
        ["https://app.example.com/a/b?c=d#e", "https://app.example.com/a/b?c=d#e"],
        ["https://example.com", "https://example.com/"],
        ["https://deep.app.example.com:8443/x", "https://deep.app.example.com:8443/x"],
        ["HTTPS://APP.Example.COM/Path", "https://app.example.com/Path"],
        // An IDN host under the domain, as the browser will ask for it.
        ["https://bücher.example.com/", "https://xn--bcher-kva.example.com/"],
      ]
    ) assert.equal(followed(raw), to, raw);
  });

  it("refuses every other host, however it is disguised", () => {
    for (
      const raw of [
        "https://evil.example",
        "https://evil.example/https://app.example.com/",
        "//evil.example",
        "/\\evil.example",
        "https://example.com.evil.example",
        "https://evilexample.com",
        "https://app.example.com.",
        "https://user@evil.example",
        "https://app.example.com@evil.example",
        "https://app.example.com:pw@evil.example",
        "https://evil.example#@app.example.com",
        "https://evil.example?@app.example.com",
        "https:\\\\evil.example",
        "https:/\\evil.example",
        "https://evil.example\\@app.example.com",
        "https://exаmple.com/", // a Cyrillic "а"
        "https://xn--exmple-4nf.com/",
        "https://127.0.0.1/",
        "https://[::1]/",
      ]
    ) assert.equal(followed(raw), null, raw);
  });

  it("refuses what is not an https URL: other schemes, http off loopback, relative paths, junk", () => {
    for (
      const raw of [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)//https://app.example.com",
        "data:text/html,<script>alert(1)</script>",
        "http://app.example.com/",
        "http://auth.example.com/",
        "ftp://app.example.com/",
        "/account",
        "app.example.com",
        "",
        " https://app.example.com/",
        "https://app.example.com/\n",
        "https://app.exa\tmple.com/",
        "https://app.example.com/%00",
        "https://",
      ]
    ) {
      const v = nextVerdict(raw, rules);
      // "%00" is an escape in a path, not a control character: the only one here that may pass.
      if (raw.endsWith("%00")) continue;
      assert.ok("refused" in v, raw);
    }
  });

  it("refuses a very long URL, and says why", () => {
    const long = `https://app.example.com/${"a".repeat(NEXT_MAX_LENGTH)}`;
    assert.deepEqual(nextVerdict(long, rules), { refused: `longer than ${NEXT_MAX_LENGTH} characters` });
    assert.equal(followed(`https://app.example.com/${"a".repeat(1000)}`)?.length, 1024);
  });

  it("allows http only for loopback hosts that are also the service's own or under COOKIE_DOMAIN", () => {
    const local = { ownHost: "localhost", cookieDomain: null };
    assert.equal(followed("http://localhost:5000/x", local), "http://localhost:5000/x");
    assert.equal(followed("http://127.0.0.1:5000/x", { ownHost: "127.0.0.1", cookieDomain: null }), "http://127.0.0.1:5000/x");
    assert.equal(followed("http://[::1]:8080/", { ownHost: "[::1]", cookieDomain: null }), "http://[::1]:8080/");
    const dev = { ownHost: "auth.example.localhost", cookieDomain: "example.localhost" };
    assert.equal(followed("http://app.example.localhost:8080/", dev), "http://app.example.localhost:8080/");
    // Loopback, but another host.
    assert.equal(followed("http://127.0.0.1:5000/x", local), null);
    assert.equal(followed("http://other.localhost/", dev), null);
    // Without COOKIE_DOMAIN only the service's own host.
    assert.equal(followed("https://app.example.com/", { ownHost: "auth.example.com", cookieDomain: null }), null);
    assert.equal(followed("https://auth.example.com/x", { ownHost: "auth.example.com", cookieDomain: null }), "https://auth.example.com/x");
  });

  it("shows a refused URL in the log shortened, without its query", () => {
    assert.equal(nextForLog("https://evil.example/path?token=secret#frag"), "https://evil.example/path");
    assert.equal(nextForLog("javascript:alert(1)"), "javascript:alert(1)");
    const shown = nextForLog(`https://evil.example/${"a".repeat(5000)}`);
    assert.ok(shown.length < 140, shown);
    assert.match(shown, /… \(5021 characters\)$/);
  });
});

describe("GET /page/session?next=", () => {
  it("answers the URL to go to, or null, and logs each refusal at info with its reason", async () => {
    const logLines: string[] = [];
    const t = testApp({
      env: { AUTH_TYPE: "session_db_auth", PUBLIC_URL: "https://auth.example.com", COOKIE_DOMAIN: ".example.com" },
      logLines,
    });
    const refusals = () => logLines.filter((l) => l.includes("event=next_refused"));
    const ask = async (next: string) => {
      const r = await t.request(`/page/session?next=${encodeURIComponent(next)}`);
      assert.equal(r.status, 200);
      return await r.json();
    };
    assert.deepEqual(await ask("https://app.example.com/x?y=1"), { user: null, next: "https://app.example.com/x?y=1" });
    assert.equal(refusals().length, 0);
    assert.deepEqual(await ask("https://evilexample.com/login?token=abc"), { user: null, next: null });
    const [line] = refusals();
    assert.equal(refusals().length, 1);
    assert.match(line, / info auth event=next_refused /);
    assert.match(line, /reason="host evilexample.com is neither auth.example.com nor under example.com"/);
    assert.match(line, /url=https:\/\/evilexample.com\/login/);
    assert.doesNotMatch(line, /token=abc/);
    // A log line cannot be forged through the URL.
    assert.deepEqual(await ask("javascript:x\n2026-01-01T00:00:00Z info forged"), { user: null, next: null });
    assert.equal(refusals().length, 2);
    assert.doesNotMatch(refusals()[1], /\n/);
    assert.ok(!logLines.some((l) => l.startsWith("2026-01-01T00:00:00Z")));
    // Without ?next= the answer is as before.
    assert.deepEqual(await (await t.request("/page/session")).json(), { user: null });
  });

  it("takes the service's own host from the request when PUBLIC_URL is unset", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_auth" } });
    const r = await t.request(`/page/session?next=${encodeURIComponent("http://localhost:9999/back")}`);
    assert.deepEqual(await r.json(), { user: null, next: "http://localhost:9999/back" });
    const other = await t.request(`/page/session?next=${encodeURIComponent("http://127.0.0.1/back")}`);
    assert.deepEqual(await other.json(), { user: null, next: null });
  });

  it("stops sending a signed-in browser on to an app that sent it straight back, and logs it", async () => {
    const logLines: string[] = [];
    const t = testApp({
      env: { AUTH_TYPE: "session_db_auth", PUBLIC_URL: "https://auth.example.com", COOKIE_DOMAIN: ".example.com" },
      logLines,
    });
    await t.seed("ada@hbtn.io", "first-Pass-1");
    const session = cookieOf(await t.form("/api/v1/auth_session/login", { email: "ada@hbtn.io", password: "first-Pass-1" }));
    const path = `/page/session?next=${encodeURIComponent("https://app.example.com/x")}`;
    // Signed out: nothing can loop, no marker.
    const out = await t.request(path);
    assert.equal(out.headers.get("set-cookie"), null);
    assert.equal((await out.json()).next, "https://app.example.com/x");
    // Signed in: go on, with a short-lived marker for this route only.
    const first = await t.request(path, { headers: { Cookie: session } });
    const body = await first.json();
    assert.equal(body.next, "https://app.example.com/x");
    assert.equal(body.bounced, undefined);
    const marker = first.headers.get("set-cookie") ?? "";
    assert.match(marker, /^next_forwarded=1; Path=\/page\/session; Max-Age=10; HttpOnly; SameSite=Lax; Secure$/);
    // Back at once with the marker: the app does not see the login.
    const again = await t.request(path, { headers: { Cookie: `${session}; ${marker.split(";")[0]}` } });
    assert.deepEqual((({ next, bounced }) => ({ next, bounced }))(await again.json()), { next: null, bounced: "app.example.com" });
    const line = logLines.find((l) => l.includes("event=next_bounced"));
    assert.ok(line, logLines.join("\n"));
    assert.match(line, / info .*reason="app.example.com sent a signed-in browser back: its host gets no session cookie"/);
  });
});
