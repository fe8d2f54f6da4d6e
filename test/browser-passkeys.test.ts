import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { request } from "node:http";
import { join } from "node:path";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { browserSkipReason, guardHosts, launchBrowser, screenshots } from "./helpers/browser.ts";
import { RUNTIME, runToEnd, type Server, startCommand, startServer, tsCommand } from "./helpers/server.ts";

/**
 * Passkeys end to end: the real server (this runtime's start command), the
 * sign-in page in Chromium, and Chromium's virtual authenticator (Chrome
 * DevTools Protocol, WebAuthn domain) standing in for a device with a
 * screen lock. A person adds a passkey on the page, logs out, and signs in
 * with it; on a second origin (another host name of the same server) the
 * passkey cannot be used. WebAuthn wants a secure context and a host name
 * as relying party: the page is opened at http://localhost, not 127.0.0.1.
 */

/** A JSON POST to the server with the Host header a browser on `host` would send (fetch may not set Host). */
function postAs(host: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: Number(host.split(":")[1]),
        path,
        method: "POST",
        headers: { Host: host, "Content-Type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const skip = browserSkipReason();
if (skip) console.log(`browser passkey tests skipped: ${skip}`);

const ADMIN = { email: "admin@hbtn.io", password: "keys-Of-Office-1" };

describe(`passkeys on the sign-in page in Chromium, served on ${RUNTIME}`, { skip, timeout: 300_000 }, () => {
  let browser: Browser;
  let api: Server;
  let port = 0;
  let dir = "";
  const contexts: BrowserContext[] = [];

  /** Waits until the server's log shows `line` (its output arrives through a pipe, after the answer). */
  async function logged(line: RegExp): Promise<void> {
    for (let i = 0; i < 200 && !line.test(api.output()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(api.output(), line);
  }

  /** A page with a virtual authenticator: resident keys, user verification (a screen lock), always verified. */
  async function withAuthenticator(): Promise<
    { context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string; outside: () => string[] }
  > {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    contexts.push(context);
    const outside = guardHosts(context);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return { context, page, cdp, authenticatorId, outside };
  }

  before(async () => {
    browser = await launchBrowser();
    dir = mkdtempSync(join(tmpdir(), "browser-passkeys-"));
    const env = { STORAGE: "file", DATA_DIR: dir };
    const [bin, args] = tsCommand("src/entry/cli.ts");
    const added = await runToEnd(bin, [...args, "user", "add", ADMIN.email], env, 60_000, `${ADMIN.password}\n`);
    assert.equal(added.code, 0, added.stderr);
    api = await startServer({ ...env, AUTH_TYPE: "session_db_auth" }, startCommand());
    port = Number(new URL(api.url).port);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await api?.stop("SIGTERM").catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("adds a passkey on the page, logs out, signs in with it; another origin cannot use it", async () => {
    const shot = screenshots("passkeys");
    const { context, page, cdp, authenticatorId, outside } = await withAuthenticator();
    const home = `http://localhost:${port}/`;
    await page.goto(home);
    await page.waitForSelector("#signed-out:not([hidden])");
    await page.waitForSelector("#passkey-login:not([hidden])");
    await page.fill("#login-email", ADMIN.email);
    await page.fill("#login-password", ADMIN.password);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#passkeys:not([hidden])");

    await page.fill("#passkey-name", "Test laptop");
    await page.click("#passkey-form button[type=submit]");
    await page.waitForSelector("#passkey-result:not([hidden])");
    assert.match(await page.textContent("#passkey-result") ?? "", /The passkey Test laptop was added/);
    assert.match(await page.textContent("#passkey-list") ?? "", /Test laptop[\s\S]*Last used\s*never/);
    await shot(page, "added");
    // The authenticator holds one discoverable credential for "localhost", under the user's id.
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
    assert.equal(credentials[0].rpId, "localhost");

    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");
    assert.equal((await context.cookies(home)).find((c) => c.name === "_my_session_id"), undefined);
    await page.click("#passkey-login-button");
    await page.waitForSelector("#signed-in:not([hidden])");
    assert.match(await page.textContent("#me") ?? "", new RegExp(ADMIN.email));
    assert.ok((await context.cookies(home)).some((c) => c.name === "_my_session_id" && c.httpOnly), "a session, as after a password login");
    await page.waitForFunction(() => !/Last used\s*never/.test(document.getElementById("passkey-list")?.textContent ?? ""));
    await shot(page, "signed-in-with-passkey");
    await logged(/passkey_added/);
    await logged(/passkey_login/);

    // The same server under another host name is another origin, and another relying party: the passkey is not offered there.
    const other = `http://other.localhost:${port}/`;
    await page.goto(other);
    await page.waitForSelector("#signed-out:not([hidden])");
    await page.click("#passkey-login-button");
    await page.waitForSelector("#passkey-login-result:not([hidden])");
    assert.match(await page.textContent("#passkey-login-result") ?? "", /Signing in with a passkey failed/);
    assert.equal((await context.cookies(other)).find((c) => c.name === "_my_session_id"), undefined);
    await shot(page, "other-origin");

    // The server's own check: an answer the authenticator really made on http://localhost (caught on its way,
    // its challenge still unused) sent to the same server under the other host name is refused there.
    await page.goto(home);
    await page.click("#logout");
    await page.waitForSelector("#signed-out:not([hidden])");
    let caught = "";
    await page.route("**/api/v1/auth_session/passkey", (route) => {
      caught = route.request().postData() ?? "";
      return route.abort();
    });
    await page.click("#passkey-login-button");
    await page.waitForSelector("#passkey-login-result:not([hidden])");
    await page.unroute("**/api/v1/auth_session/passkey");
    assert.match(caught, /"clientDataJSON"/);
    const elsewhere = await postAs(`other.localhost:${port}`, "/api/v1/auth_session/passkey", caught);
    assert.deepEqual(elsewhere, { status: 401, body: '{"error":"passkey not accepted"}' });
    await logged(/passkey_failed.*origin/i);
    // Its challenge went with that try: the same answer at the right origin is refused too.
    assert.equal((await postAs(`localhost:${port}`, "/api/v1/auth_session/passkey", caught)).status, 400);
    assert.deepEqual(outside(), []);
  });
});
