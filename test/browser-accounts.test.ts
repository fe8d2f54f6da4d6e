import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { browserSkipReason, guardHosts, launchBrowser, screenshots } from "./helpers/browser.ts";
import { freePort, RUNTIME, type Server, startCommand, startServer } from "./helpers/server.ts";
import { recipients } from "./helpers/mail.ts";
import { startSmtp, type TestSmtp } from "./helpers/smtp.ts";

/**
 * The sign-in page's self-service flows in a real browser (Debian's
 * Chromium, driven by playwright-core under the runtime running this file),
 * against the real server started with that runtime's start command, with
 * open sign-up, required verification and a real SMTP server in this
 * process: a person signs up, follows the link of the email that arrived,
 * logs in, forgets the password and sets a new one from the emailed link.
 * Screenshots of each step go to test-results/browser/<runtime>/.
 */

const skip = browserSkipReason();
if (skip) console.log(`browser tests skipped: ${skip}`);

const ADA = { email: "ada@hbtn.io", password: "first-Pass-1", next: "second-Pass-2", moved: "ada@lovelace.io" };

/** The link of a given kind (`verify`, `reset`) in an email's text, which must point at the server itself. */
function linkIn(mail: { text?: string }, kind: "verify" | "reset", origin: string): string {
  const found = new RegExp(`(https?://\\S+?/#${kind}=[A-Za-z0-9_~.%-]+)`).exec(mail.text ?? "");
  assert.ok(found, `no #${kind}= link in: ${mail.text}`);
  assert.equal(new URL(found[1]).origin, origin, "the link points at PUBLIC_URL");
  return found[1];
}

describe(`the sign-in page's self-service flows in Chromium, served on ${RUNTIME}`, { skip, timeout: 300_000 }, () => {
  const servers: Server[] = [];
  const contexts: BrowserContext[] = [];
  let browser: Browser;
  let smtp: TestSmtp;

  /** A fresh browser context, phone-sized unless told, whose requests may not leave this machine (checked by `outside()`). */
  async function open(viewport = { width: 390, height: 844 }) {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const outside = guardHosts(context);
    const page = await context.newPage();
    return { context, page, outside };
  }

  /** A server whose PUBLIC_URL is its own address (every emailed link points at it). */
  async function serve(env: Record<string, string>): Promise<Server> {
    const port = await freePort();
    const server = await startServer(
      { STORAGE: "memory", AUTH_TYPE: "session_db_auth", API_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
      startCommand(),
    );
    servers.push(server);
    return server;
  }

  async function logIn(page: Page, email: string, password: string) {
    await page.fill("#login-email", email);
    await page.fill("#login-password", password);
    await page.click("#login-form button[type=submit]");
  }

  /** The page's address as the browser has it now (after any replaceState). */
  const address = (page: Page) => page.evaluate(() => location.href);

  before(async () => {
    browser = await launchBrowser();
    smtp = await startSmtp();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    for (const s of servers) await s.stop("SIGTERM").catch(() => {});
    await smtp?.stop();
  });

  it("sign up, verify from the email, log in and out, forget the password, set a new one from the email, log in with it", async () => {
    const api = await serve({ SIGNUP: "open", EMAIL_VERIFICATION: "required", SMTP_URL: smtp.url });
    const origin = new URL(api.url).origin;
    const shot = screenshots("self-service");
    const { context, page, outside } = await open();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(api.url + "/");
    await page.waitForSelector("#show-register:not([hidden])");
    assert.equal(await page.isVisible("#show-forgot"), true, "email is configured: the reset link shows");
    assert.equal(await page.isHidden("#no-account-hint"), true, "the CLI hint gives way to the sign-up link");
    await shot(page, "signed-out");

    // Sign up: the form opens under its link, with focus on its title.
    await page.click("#show-register");
    await page.waitForFunction(() => document.activeElement?.id === "register-title");
    assert.equal(await page.getAttribute("#show-register", "aria-expanded"), "true");
    await page.fill("#register-email", ADA.email);
    await page.fill("#register-password", ADA.password);
    await page.fill("#register-first", "Ada");
    await page.fill("#register-last", "Lovelace");
    await page.click("#register-form button[type=submit]");
    await page.waitForSelector("#register-result:not([hidden])");
    assert.match(await page.textContent("#register-result") ?? "", /Your account ada@hbtn\.io was created\. We sent a link/);
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= width, `on a phone the page is ${scroll} px wide in a ${width} px window`);
    await shot(page, "signed-up");

    // Not verified yet: the login is refused in the API's words.
    await logIn(page, ADA.email, ADA.password);
    await page.waitForSelector("#login-result:not([hidden])");
    assert.match(await page.textContent("#login-result") ?? "", /email not verified/);

    // The email arrives; its link opens the page in a new tab, which verifies at once.
    await smtp.waitFor(1);
    assert.deepEqual(recipients(smtp.received[0]), [ADA.email]);
    const verifyLink = linkIn(smtp.received[0], "verify", origin);
    const tab = await context.newPage();
    tab.on("pageerror", (e) => problems.push(e.message));
    await tab.goto(verifyLink);
    await tab.waitForSelector("#notice:has-text('Your email address is verified')");
    assert.equal(await address(tab), `${origin}/`, "the token left the address bar");
    await shot(tab, "verified");
    // The same link again: used up, said in the API's words.
    await tab.goto(verifyLink);
    await tab.waitForSelector("#problem:not([hidden])");
    assert.match(await tab.textContent("#problem") ?? "", /not verified: invalid or expired token/);
    assert.equal(await address(tab), `${origin}/`);
    await tab.close();

    await logIn(page, ADA.email, ADA.password);
    await page.waitForSelector("#signed-in:not([hidden])");
    await page.waitForSelector("#email-section:not([hidden])");
    assert.match(await page.textContent("#email-status") ?? "", /ada@hbtn\.io is verified/);
    assert.equal(await page.isHidden("#resend-verification"), true, "a verified address needs no new link");
    assert.equal(await page.isHidden("#account-links"), true, "no sign-up or reset link while signed in");
    await shot(page, "signed-in");
    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");

    // Forgot the password: the same answer for an address nobody has, and for Ada's.
    await page.click("#show-forgot");
    await page.waitForFunction(() => document.activeElement?.id === "forgot-title");
    const answers: string[] = [];
    for (const email of ["nobody@hbtn.io", ADA.email]) {
      await page.fill("#forgot-email", email);
      await page.click("#forgot-form button[type=submit]");
      await page.waitForSelector("#forgot-result:not([hidden])");
      answers.push(await page.textContent("#forgot-result") ?? "");
    }
    assert.match(answers[1], /If an account exists for that address, we sent a link/);
    assert.equal(answers[0], answers[1], "the page does not tell which addresses have accounts");
    await shot(page, "reset-asked");
    await smtp.waitFor(2);
    assert.deepEqual(smtp.received.flatMap(recipients).filter((to) => to !== ADA.email), [], "nothing went to the unknown address");
    const resetLink = linkIn(smtp.received[1], "reset", origin);

    // The link pasted into this very tab: only the fragment changes.
    await page.goto(resetLink);
    await page.waitForFunction(() => document.activeElement?.id === "reset-title");
    assert.equal(await address(page), `${origin}/`, "the token left the address bar");
    await page.fill("#reset-password", ADA.next);
    await page.fill("#reset-again", `${ADA.next}x`);
    await page.click("#reset-form button[type=submit]");
    await page.waitForSelector("#reset-result:not([hidden])");
    assert.match(await page.textContent("#reset-result") ?? "", /the two passwords differ/);
    await page.fill("#reset-again", ADA.next);
    await shot(page, "new-password");
    await page.click("#reset-form button[type=submit]");
    await page.waitForSelector("#notice:has-text('Your password has changed')");
    assert.equal(await page.isHidden("#reset"), true);
    assert.equal(await address(page), `${origin}/`);
    // Nothing of the token is kept where a script could find it later.
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, JSON.stringify(history.state)]), [
      0,
      0,
      "null",
    ]);
    await shot(page, "password-reset");

    await logIn(page, ADA.email, ADA.password);
    await page.waitForSelector("#login-result:not([hidden])");
    assert.match(await page.textContent("#login-result") ?? "", /invalid email or password/);
    await logIn(page, ADA.email, ADA.next);
    await page.waitForSelector("#signed-in:not([hidden])");
    await shot(page, "back-in");

    // A new address: a wrong password is said so; then the link goes to the new address, and the change shows once followed.
    await page.fill("#change-email", ADA.moved);
    await page.fill("#change-email-password", ADA.password);
    await page.click("#change-email-form button[type=submit]");
    await page.waitForSelector("#change-email-result:not([hidden])");
    assert.match(await page.textContent("#change-email-result") ?? "", /did not change: the current password is wrong/);
    await page.fill("#change-email", ADA.moved);
    await page.fill("#change-email-password", ADA.next);
    await page.click("#change-email-form button[type=submit]");
    await page.waitForSelector("#change-email-result:has-text('We sent a link to ada@lovelace.io')");
    const moved = await waitForMailTo(ADA.moved);
    await page.goto(linkIn(moved, "verify", origin));
    await page.waitForSelector("#notice:has-text('Your email address is verified')");
    await page.waitForSelector("#me:has-text('ada@lovelace.io')");
    assert.equal(await address(page), `${origin}/`);
    await shot(page, "email-changed");

    assert.deepEqual(problems, []);
    assert.deepEqual(outside(), []);
  });

  /** The `nth` email to an address (waiting for one more while it has not come). */
  async function waitForMailTo(to: string, nth = 1) {
    for (let n = smtp.received.length + 1;; n++) {
      const found = smtp.received.filter((m) => recipients(m).includes(to))[nth - 1];
      if (found) return found;
      await smtp.waitFor(n);
    }
  }

  it("with verification optional: log in at once, see the address unverified, send the link again, follow it", async () => {
    const api = await serve({ SIGNUP: "open", EMAIL_VERIFICATION: "optional", SMTP_URL: smtp.url });
    const origin = new URL(api.url).origin;
    const grace = { email: "grace@hbtn.io", password: "Cobol-Compiler-59" };
    const shot = screenshots("self-service-optional");
    const { page, outside } = await open();
    await page.goto(api.url + "/");
    await page.click("#show-register");
    await page.fill("#register-email", grace.email);
    await page.fill("#register-password", grace.password);
    await page.click("#register-form button[type=submit]");
    await page.waitForSelector("#register-result:has-text('You can log in now')");
    await logIn(page, grace.email, grace.password);
    await page.waitForSelector("#signed-in:not([hidden])");
    assert.match(await page.textContent("#email-status") ?? "", /grace@hbtn\.io is not verified yet/);
    await page.click("#resend-verification");
    await page.waitForSelector("#resend-result:has-text('We sent a new link to grace@hbtn.io')");
    await shot(page, "resent");
    // Two links now (the sign-up's and the new one): the newest one verifies.
    const resent = await waitForMailTo(grace.email, 2);
    await page.goto(linkIn(resent, "verify", origin));
    // The notice comes once the account and its sessions are shown again.
    await page.waitForSelector("#notice:has-text('Your email address is verified')");
    assert.match(await page.textContent("#email-status") ?? "", /grace@hbtn\.io is verified/);
    assert.equal(await page.isHidden("#resend-verification"), true);
    assert.equal(await address(page), `${origin}/`);
    await shot(page, "verified");
    assert.deepEqual(outside(), []);
  });

  it("shows a sign-up link only when sign-up is open, and the reset link only when email is configured", async () => {
    const shot = screenshots("self-service-links");
    const cases: { env: Record<string, string>; register: boolean; forgot: boolean; hint: RegExp | null }[] = [
      { env: { SIGNUP: "closed" }, register: false, forgot: false, hint: /Whoever runs the server creates accounts/ },
      { env: { SIGNUP: "authenticated", SMTP_URL: smtp.url }, register: false, forgot: true, hint: /Someone signed in can create one/ },
      { env: { SIGNUP: "open" }, register: true, forgot: false, hint: null },
    ];
    for (const { env, register, forgot, hint } of cases) {
      const api = await serve(env);
      const { page, outside } = await open();
      await page.goto(api.url + "/");
      await page.waitForSelector("#signed-out:not([hidden])");
      // The links follow GET /page/config: wait until the page has asked.
      await page.waitForLoadState("networkidle");
      const name = JSON.stringify(env);
      assert.equal(await page.isVisible("#show-register"), register, `sign-up link with ${name}`);
      assert.equal(await page.isVisible("#show-forgot"), forgot, `reset link with ${name}`);
      assert.equal(await page.isVisible("#account-links"), register || forgot, name);
      if (hint) assert.match(await page.textContent("#no-account-hint") ?? "", hint, name);
      else assert.equal(await page.isHidden("#no-account-hint"), true, name);
      await shot(page, Object.values(env).join("-").replace(/\W+/g, "_"));
      assert.deepEqual(outside(), []);
    }
  });
});
