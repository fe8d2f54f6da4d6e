import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { browserSkipReason, guardHosts, launchBrowser, screenshots } from "./helpers/browser.ts";
import { RUNTIME, runToEnd, type Server, startServer, tsCommand } from "./helpers/server.ts";
import { SECRET_KEY } from "./helpers/totp.ts";
import { totpCode } from "../src/auth/totp.ts";

/**
 * Two-step verification on the sign-in page, in Chromium against the real
 * server: set up an authenticator app through the page (the test reads the
 * key the page shows and computes the codes an app would), log out, and
 * log in again through the code prompt; then turn it off with the password.
 */

const skip = browserSkipReason();
if (skip) console.log(`browser tests skipped: ${skip}`);

const USER = { email: "ada@hbtn.io", password: "first-Pass-1" };

describe(`two-step verification on the sign-in page, in Chromium, served on ${RUNTIME}`, { skip, timeout: 300_000 }, () => {
  let browser: Browser;
  let server: Server;
  let dir: string;

  before(async () => {
    browser = await launchBrowser();
    dir = mkdtempSync(join(tmpdir(), "browser-totp-"));
    const env = { STORAGE: "file", DATA_DIR: dir };
    const [bin, args] = tsCommand("src/entry/cli.ts");
    const added = await runToEnd(bin, [...args, "user", "add", USER.email], env, 60_000, `${USER.password}\n`);
    assert.equal(added.code, 0, added.stderr);
    server = await startServer({ ...env, AUTH_TYPE: "session_db_auth", SECRET_KEY });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  const logIn = async (page: Page) => {
    await page.fill("#login-email", USER.email);
    await page.fill("#login-password", USER.password);
    await page.click("#login-form button[type=submit]");
  };
  const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? "").trim();

  it("set up through the page with its QR code and key, then log in through the code prompt; turned off with the password", async () => {
    const shot = screenshots("totp");
    const context = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
    const outside = guardHosts(context);
    const page = await context.newPage();
    await page.goto(server.url + "/");
    await page.waitForSelector("#signed-out:not([hidden])");
    // Before the server asks for it, the login form has no code field to fill.
    assert.equal(await page.isVisible("#login-code"), false);
    await logIn(page);
    await page.waitForSelector("#signed-in:not([hidden])");
    await page.waitForFunction(() => document.getElementById("factors-state")?.textContent?.startsWith("Off"));

    await page.click("#totp-start");
    await page.waitForSelector("#totp-setup:not([hidden])");
    const secret = await text(page, "#totp-secret");
    assert.match(secret, /^[A-Z2-7]{32}$/);
    // The QR code is drawn by the page itself: an SVG with modules, nothing fetched from elsewhere.
    const modules = await page.$eval("#totp-qr svg path", (p) => (p.getAttribute("d") ?? "").split("z").length - 1);
    assert.ok(modules > 100, `${modules} dark modules`);
    await shot(page, "set-up");
    await page.fill("#totp-code", totpCode(secret, Date.now()));
    await page.click("#totp-confirm-form button[type=submit]");
    await page.waitForSelector("#totp-recovery:not([hidden])");
    const codes = await page.$$eval("#totp-recovery-codes li", (lis) => lis.map((li) => li.textContent ?? ""));
    assert.equal(codes.length, 10);
    assert.match(await text(page, "#factors-state"), /^On: .* 10 recovery codes left\.$/);
    await shot(page, "recovery-codes");

    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");
    await logIn(page);
    await page.waitForSelector("#login-code-field:not([hidden])");
    assert.match(await text(page, "#login-result"), /Enter the 6-digit code from your authenticator app/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "login-code");
    await page.fill("#login-code", "000000" === totpCode(secret, Date.now() + 30_000) ? "111111" : "000000");
    await page.click("#login-form button[type=submit]");
    await page.waitForFunction(() => document.getElementById("login-result")?.textContent?.includes("invalid code"));
    await shot(page, "code-prompt");
    // The step the set-up used is spent: the app's next code (one step of drift is allowed).
    await page.fill("#login-code", totpCode(secret, Date.now() + 30_000));
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#signed-in:not([hidden])");
    // The welcome follows once the account's sections are filled (its sessions, its factors).
    await page.waitForFunction(() => document.getElementById("notice")?.textContent !== "");
    assert.match(await text(page, "#notice"), /Welcome, ada@hbtn\.io/);
    await page.waitForFunction(() => document.getElementById("factors-state")?.textContent?.startsWith("On"));

    await page.fill("#totp-disable-password", USER.password);
    await page.click("#totp-disable-form button[type=submit]");
    await page.waitForFunction(() => document.getElementById("factors-state")?.textContent?.startsWith("Off"));
    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");
    await logIn(page);
    await page.waitForSelector("#signed-in:not([hidden])");
    assert.deepEqual(outside(), [], "nothing was fetched from another host");
    await context.close();
  });
});
