import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { browserSkipReason, guardHosts, launchBrowser, pictureForReadme, screenshots, startSite } from "./helpers/browser.ts";
import { RUNTIME, runToEnd, type Server, startCommand, startServer, tsCommand } from "./helpers/server.ts";

/**
 * The sign-in page and the API reference in a real browser (Debian's
 * Chromium, driven by playwright-core under the runtime running this file),
 * against the real server started with that runtime's own start command:
 * what a person does with the keyboard, what another site can and cannot
 * make the browser do, and what the pages load. Screenshots of each step go
 * to test-results/browser/<runtime>/.
 */

const skip = browserSkipReason();
if (skip) console.log(`browser tests skipped: ${skip}`);

const ADMIN = { email: "admin@hbtn.io", password: "keys-Of-Office-1" };
const ADA = { email: "ada@hbtn.io", password: "first-Pass-1", next: "second-Pass-2" };

/** Skips a test with its reason printed (Deno's runner does not show skip reasons). */
function skipWith(t: TestContext, reason: string): void {
  console.log(`skipped "${t.name}": ${reason}`);
  t.skip(reason);
}

describe(`the pages in Chromium, served on ${RUNTIME}`, { skip, timeout: 300_000 }, () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  const contexts: BrowserContext[] = [];
  let browser: Browser;
  let api: Server;
  let evil: Awaited<ReturnType<typeof startSite>>;
  let friend: Awaited<ReturnType<typeof startSite>>;

  /** A fresh browser context whose requests may not leave this machine (checked by `outside()`). */
  async function open(options: { viewport?: { width: number; height: number } } = {}) {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 900, height: 900 } });
    contexts.push(context);
    const outside = guardHosts(context);
    const page = await context.newPage();
    return { context, page, outside };
  }

  /** Logs in through the sign-in page's form. */
  async function logIn(page: Page, email: string, password: string) {
    await page.fill("#login-email", email);
    await page.fill("#login-password", password);
    await page.click("#login-form button[type=submit]");
  }

  /** The session cookie as the server sees it (Playwright can read HttpOnly cookies; the page cannot). */
  async function sessionCookie(context: BrowserContext): Promise<string> {
    const cookie = (await context.cookies(api.url)).find((c) => c.name === "_my_session_id");
    assert.ok(cookie, "a session cookie");
    return `${cookie.name}=${cookie.value}`;
  }

  before(async () => {
    browser = await launchBrowser();
    const dir = mkdtempSync(join(tmpdir(), "browser-data-"));
    dirs.push(dir);
    const env = { STORAGE: "file", DATA_DIR: dir };
    // Under session auth, accounts are created by someone signed in: the first one from the CLI.
    const [bin, args] = tsCommand("src/entry/cli.ts");
    const added = await runToEnd(bin, [...args, "user", "add", ADMIN.email], env, 60_000, `${ADMIN.password}\n`);
    assert.equal(added.code, 0, added.stderr);
    [evil, friend] = await Promise.all([startSite(), startSite()]);
    api = await startServer({ ...env, AUTH_TYPE: "session_db_auth", CORS_ORIGINS: friend.origin }, startCommand());
    servers.push(api);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    for (const s of servers) await s.stop("SIGTERM").catch(() => {});
    await Promise.all([evil?.close(), friend?.close()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("the whole flow, with the keyboard: log in, sign someone up, see me, end a session, change the password", async (t) => {
    const needed = ["GET /api/v1/auth_session/sessions", "DELETE /api/v1/auth_session/sessions/x", "PUT /api/v1/users/me/password"];
    const missing = [];
    for (const m of needed) {
      const [method, path] = m.split(" ");
      const allow = (await fetch(api.url + path, { method: "OPTIONS", headers: { "Access-Control-Request-Method": method } })).headers;
      if (!(allow.get("access-control-allow-methods") ?? "").includes(method)) missing.push(m);
    }
    if (missing.length) return skipWith(t, `this server has no ${missing.join(", ")}`);

    const shot = screenshots("flow");
    // Wide enough that the forms sit side by side with room to scroll: a result at the page's top would be out of sight.
    const { context, page, outside } = await open({ viewport: { width: 1000, height: 900 } });
    const consoleErrors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(m.text())));
    await page.goto(api.url + "/");
    await page.waitForSelector("#signed-out:not([hidden])");
    await page.waitForLoadState("networkidle");
    // Signed out is the page's first state, not a failure: no request of the load answers 4xx.
    assert.deepEqual(consoleErrors, [], "a signed-out load logs no error");
    await shot(page, "signed-out");

    /** The result of a form: shown under it, inside the window, and focused. */
    const resultShown = async (id: string, text: RegExp) => {
      await page.waitForSelector(`#${id}:not([hidden])`);
      const seen = await page.evaluate((id) => {
        const el = document.getElementById(id)!;
        const box = el.getBoundingClientRect();
        return {
          text: el.textContent,
          inside: box.top >= 0 && box.bottom <= innerHeight,
          focused: document.activeElement === el,
          top: box.top,
          bottom: box.bottom,
          height: innerHeight,
        };
      }, id);
      assert.match(seen.text ?? "", text, id);
      assert.ok(seen.inside, `${id} is outside the window: ${JSON.stringify(seen)}`);
      assert.ok(seen.focused, `${id} does not have focus`);
    };

    // Keyboard only: the skip link, the reference link, then the form, in that order.
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim());
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press("Tab");
      order.push(await focused());
    }
    assert.deepEqual(order, ["Skip to the content", "API reference", "login-email", "login-password", "Log in"]);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, "none", "the focused control shows it");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.type(ADMIN.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press("Enter");
    await page.waitForSelector("#signed-in:not([hidden])");
    // Focus moves to what changed, once the account and its sessions are shown.
    await page.waitForFunction(() => document.activeElement?.id === "me-title");
    assert.match(await page.textContent("#me") ?? "", new RegExp(ADMIN.email));
    await shot(page, "signed-in");

    // The cookie is HttpOnly: the page sees no token, and keeps nothing in storage.
    assert.equal((await context.cookies(api.url)).find((c) => c.name === "_my_session_id")?.httpOnly, true);
    assert.deepEqual(await page.evaluate(() => [document.cookie, localStorage.length, sessionStorage.length]), ["", 0, 0]);

    // Sign up: a signed-in user creates Ada's account.
    await page.fill("#sign-up-email", ADA.email);
    await page.fill("#sign-up-password", ADA.password);
    await page.fill("#sign-up-first", "Ada");
    await page.fill("#sign-up-last", "Lovelace");
    await page.click("#sign-up-form button[type=submit]");
    await resultShown("sign-up-result", /The account ada@hbtn\.io was created/);
    await shot(page, "signed-up");
    // The same email again: refused, and said where the form is.
    await page.fill("#sign-up-email", ADA.email);
    await page.fill("#sign-up-password", ADA.password);
    await page.click("#sign-up-form button[type=submit]");
    await resultShown("sign-up-result", /The account was not created: .*email already exists/);
    await shot(page, "sign-up-duplicate");

    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");
    await logIn(page, ADA.email, ADA.password);
    await page.waitForSelector("#signed-in:not([hidden])");
    assert.match(await page.textContent("#me") ?? "", /Ada Lovelace/);

    // A second browser logs in as Ada too; the first one sees it and ends it.
    const second = await open();
    await second.page.goto(api.url + "/");
    await logIn(second.page, ADA.email, ADA.password);
    await second.page.waitForSelector("#signed-in:not([hidden])");
    const secondCookie = await sessionCookie(second.context);
    await page.reload();
    await page.waitForSelector("#sessions li >> nth=1");
    assert.equal(await page.locator("#sessions li").count(), 2);
    assert.equal(await page.locator("#sessions .badge").count(), 1, "this browser's session is marked");
    // Named for people, with the string the browser sent on demand.
    const userAgent = await page.evaluate(() => navigator.userAgent);
    const title = page.locator("#sessions li:has(.badge) .session-title");
    assert.match(await title.textContent() ?? "", /^(Headless )?Chrome on Linux\b/);
    assert.equal(await title.getAttribute("title"), userAgent);
    assert.equal(await page.locator("#sessions li:has(.badge) details.user-agent code").textContent(), userAgent);
    await shot(page, "two-sessions");
    await pictureForReadme(page);
    await page.locator("#sessions li:not(:has(.badge)) button").click();
    await page.waitForSelector("#notice:has-text('The session has ended')");
    assert.equal(await page.locator("#sessions li").count(), 1);
    assert.equal((await fetch(`${api.url}/api/v1/users/me`, { headers: { Cookie: secondCookie } })).status, 403);
    await second.page.reload();
    await second.page.waitForSelector("#signed-out:not([hidden])");
    await shot(page, "session-ended");

    // Change the password; a wrong current one is a clear error.
    await page.fill("#current-password", "not-my-password");
    await page.fill("#new-password", ADA.next);
    await page.click("#password-form button[type=submit]");
    await resultShown("password-result", /the current password is wrong/);
    await page.fill("#current-password", ADA.password);
    await page.fill("#new-password", ADA.next);
    await page.click("#password-form button[type=submit]");
    await resultShown("password-result", /Your password has changed/);
    await shot(page, "password-changed");

    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");
    await logIn(page, ADA.email, ADA.password);
    await resultShown("login-result", /invalid email or password/);
    await shot(page, "old-password-refused");
    await logIn(page, ADA.email, ADA.next);
    await page.waitForSelector("#signed-in:not([hidden])");
    await shot(page, "back-in");
    assert.deepEqual([...outside(), ...second.outside()], []);
  });

  it("another origin's forms cannot log out, create or delete users with the visitor's cookie", async () => {
    const shot = screenshots("cross-site");
    const { context, page, outside } = await open();
    await page.goto(api.url + "/");
    await logIn(page, ADMIN.email, ADMIN.password);
    await page.waitForSelector("#signed-in:not([hidden])");
    const cookie = await sessionCookie(context);
    const asAdmin = (path: string) => fetch(api.url + path, { headers: { Cookie: cookie } });
    const victim = ((await (await asAdmin("/api/v1/users")).json()) as { id: string; email: string }[]).find((u) =>
      u.email === ADMIN.email
    )!;
    const count = async () => ((await (await asAdmin("/api/v1/stats")).json()) as { users: number }).users;
    const before = await count();

    const form = (id: string, action: string, fields: Record<string, string>) =>
      `<form id="${id}" method="post" action="${api.url}${action}">${
        Object.entries(fields).map(([k, v]) => `<input name="${k}" value="${v}">`).join("")
      }<button>go</button></form>`;
    evil.page(
      "/",
      `<!doctype html><title>Win a prize</title>` +
        form("logout", "/api/v1/auth_session/logout", {}) +
        form("create", "/api/v1/users", { email: "mallory@evil.io", password: "Silver-Kite-77" }) +
        form("delete", `/api/v1/users/${victim.id}`, { _method: "DELETE" }) +
        form("login", "/api/v1/auth_session/login", { email: "mallory@evil.io", password: "Silver-Kite-77" }),
    );
    // The same host on another port is the same site: the browser sends the (SameSite=Lax) cookie, and
    // the service refuses by the Origin. From another site (localhost) the browser does not send it at all.
    for (const [site, refused] of [[evil.origin, [403]], [`http://localhost:${evil.port}`, [401, 403]]] as const) {
      for (const id of ["logout", "create", "delete", "login"]) {
        await page.goto(`${site}/`);
        const [answer] = await Promise.all([
          page.waitForResponse((r) => r.url().startsWith(api.url) && r.request().method() === "POST"),
          page.click(`#${id} button`),
        ]);
        assert.ok((refused as readonly number[]).includes(answer.status()), `${id} from ${site}: ${answer.status()}`);
        assert.match(await answer.text(), /^\{"error":"(Forbidden|Unauthorized)"\}$/);
        await shot(page, `${new URL(site).hostname}-${id}`);
      }
    }
    // A script of that origin cannot send the DELETE with the cookie either (the preflight does not allow credentials).
    await page.goto(evil.origin + "/");
    const deleted = await page.evaluate(async (url) => {
      try {
        return (await fetch(url, { method: "DELETE", credentials: "include" })).status;
      } catch (e) {
        return String(e);
      }
    }, `${api.url}/api/v1/users/${victim.id}`);
    assert.match(String(deleted), /TypeError/);
    // ...nor read the visitor's account.
    const read = await page.evaluate(async (url) => {
      try {
        return await (await fetch(url, { credentials: "include" })).text();
      } catch (e) {
        return String(e);
      }
    }, `${api.url}/api/v1/users/me`);
    assert.match(read, /TypeError/);

    assert.equal((await asAdmin(`/api/v1/users/${victim.id}`)).status, 200, "the user still exists");
    assert.equal((await asAdmin("/api/v1/users/me")).status, 200, "the session still works");
    assert.equal(await count(), before, "nobody was created");
    assert.deepEqual(outside(), []);
  });

  it("with CORS_ORIGINS naming an origin, a page there reads the API with the visitor's cookie", async (t) => {
    const probe = await fetch(`${api.url}/api/v1/status`, { headers: { Origin: friend.origin } });
    if (probe.headers.get("access-control-allow-credentials") !== "true") {
      return skipWith(
        t,
        `CORS_ORIGINS is not supported by this server yet (no Access-Control-Allow-Credentials: true for ${friend.origin})`,
      );
    }
    const shot = screenshots("cors");
    const { page, outside } = await open();
    await page.goto(api.url + "/");
    await logIn(page, ADMIN.email, ADMIN.password);
    await page.waitForSelector("#signed-in:not([hidden])");
    friend.page("/", "<!doctype html><title>A listed origin</title><p>Reading the API</p>");
    await page.goto(friend.origin + "/");
    const me = await page.evaluate(async (url) => {
      const r = await fetch(url, { credentials: "include" });
      return { status: r.status, body: await r.json() };
    }, `${api.url}/api/v1/users/me`);
    assert.equal(me.status, 200);
    assert.equal((me.body as { email: string }).email, ADMIN.email);
    await shot(page, "friend-read");
    assert.deepEqual(outside(), []);
  });

  it("the API reference loads with no console error and nothing from another host", async () => {
    const shot = screenshots("reference");
    const { page, outside } = await open({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("requestfailed", (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(api.url + "/api/v1/docs");
    const doc = (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, object> };
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    await page.waitForFunction((n) => document.querySelectorAll(".opblock").length === n, operations);
    await page.waitForLoadState("networkidle");
    await shot(page, "reference", false);
    assert.deepEqual(problems, []);
    assert.deepEqual(outside(), []);
  });

  it("on a narrow screen the sign-in page fits, nothing scrolls sideways", async () => {
    const shot = screenshots("narrow");
    const { page, outside } = await open({ viewport: { width: 360, height: 740 } });
    await page.goto(api.url + "/");
    await logIn(page, ADMIN.email, ADMIN.password);
    await page.waitForSelector("#sessions li");
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= width, `page is ${scroll} px wide in a ${width} px window`);
    await shot(page, "signed-in");
    assert.deepEqual(outside(), []);
  });

  it("under basic_auth the page says that sessions are off, and asks for nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "browser-basic-"));
    dirs.push(dir);
    const basic = await startServer({ STORAGE: "file", DATA_DIR: dir, AUTH_TYPE: "basic_auth" }, startCommand());
    servers.push(basic);
    const shot = screenshots("basic-auth");
    const { page, outside } = await open();
    const asked: string[] = [];
    page.on("request", (r) => void asked.push(new URL(r.url()).pathname));
    await page.goto(basic.url + "/");
    await page.waitForSelector("#sessions-off:not([hidden])");
    assert.match(await page.textContent("#sessions-off") ?? "", /Authorization: Basic/);
    assert.match(await page.textContent("#mode") ?? "", /AUTH_TYPE=basic_auth/);
    assert.equal(await page.isHidden("#signed-out"), true);
    // No authenticated request: under basic_auth its 401 would make the browser prompt for a password.
    assert.ok(!asked.includes("/api/v1/users/me"), asked.join(" "));
    await shot(page, "sessions-off");
    assert.deepEqual(outside(), []);
  });
});
