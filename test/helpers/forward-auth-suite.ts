import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { browserSkipReason, guardHosts, launchBrowser } from "./browser.ts";
import { freePort } from "./server.ts";
import { RUNTIME, runToEnd, type Server, startServer, tsCommand } from "./server.ts";

/**
 * One deploy/ example of forward auth, followed in a real browser: the proxy
 * (nginx or Caddy, with its example file as shipped, only ports set and
 * example.com renamed to a loopback domain) in front of the service, started
 * on the runtime running the test, and of a tiny app that shows the
 * X-Auth-User-Email it receives. Chromium visits the app: sent to the
 * sign-in page, back after the login, locked again after a logout.
 *
 * The two hosts are auth.example.localhost and app.example.localhost, with
 * COOKIE_DOMAIN=.example.localhost: one session cookie for both, as with
 * example.com in production (Chromium keeps a cookie for a domain under
 * .localhost like any other). Chromium is told to resolve them to 127.0.0.1.
 */

export const DOMAIN = "example.localhost";
const USER = { email: "grace@hbtn.io", password: "Compiler-Harbor-Lamp-9" };
const FORGED = "mallory@evil.example";

/** Where the proxy sends things, and what it is given to start. */
export type ProxyPlan = {
  /** 127.0.0.1:port of the service and of the app. */
  service: string;
  app: string;
  /** The port the proxy listens on (127.0.0.1), for both host names. */
  port: number;
  /** A scratch folder of the test's, removed after it. */
  dir: string;
};

/** A proxy under test: how to start it on a plan, and what to stop. */
export type ProxyUnderTest = {
  name: string;
  /** Why it cannot run here, or false. */
  skip: string | false;
  start(plan: ProxyPlan): Promise<{ stop(): void }>;
};

/** What a proxy-specific test may use. */
export type SuiteContext = {
  open(): Promise<{ context: BrowserContext; page: Page; outside: () => string[] }>;
  /** Headers of every request the app received. */
  seen(): IncomingHttpHeaders[];
  /** Origins of the service and of the app, as the browser reaches them. */
  auth(): string;
  appUrl(): string;
};

/** The protected app: a page showing who the proxy says is signed in; it remembers every request's headers. */
async function startEchoApp(): Promise<{ server: HttpServer; host: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createServer((req, res) => {
    // The browser asks for a page's icon on its own, at a moment of its choosing: not a visit of the test's.
    if (req.url === "/favicon.ico") return void res.writeHead(404).end();
    seen.push(req.headers);
    const header = (name: string) => escape(String(req.headers[name] ?? ""));
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><title>App</title><link rel="icon" href="data:,"><p id="email">${header("x-auth-user-email")}</p><p id="id">${
        header("x-auth-user-id")
      }</p>`,
    );
  });
  // Loopback only, as the examples say: reached around the proxy it would believe any header.
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/**
 * The tests every forward-auth example passes; `more` adds the proxy's own
 * (`it` calls), given the suite's browser, app and addresses.
 */
export function forwardAuthSuite(proxy: ProxyUnderTest, more: (s: SuiteContext) => void = () => {}): void {
  const skip = browserSkipReason() || proxy.skip;
  describe(`forward auth: an app behind ${proxy.name}, signed in by the service on ${RUNTIME}`, { skip, timeout: 180_000 }, () => {
    const dirs: string[] = [];
    const contexts: BrowserContext[] = [];
    let browser: Browser;
    let service: Server;
    let proxyRun: { stop(): void } | undefined;
    let app: Awaited<ReturnType<typeof startEchoApp>>;
    let auth = "";
    let appUrl = "";

    async function open() {
      const context = await browser.newContext();
      contexts.push(context);
      return { context, page: await context.newPage(), outside: guardHosts(context) };
    }

    async function logIn(page: Page) {
      await page.fill("#login-email", USER.email);
      await page.fill("#login-password", USER.password);
      await page.click("#login-form button[type=submit]");
    }

    /** The app's page as the browser shows it, once it is there. */
    async function appShows(page: Page): Promise<string> {
      await page.waitForURL((u) => u.host === new URL(appUrl).host, { timeout: 30_000 });
      return await page.textContent("#email") ?? "";
    }

    /** The sign-in page, reached by a redirect from the app, with `next` pointing back. */
    async function onSignInPage(page: Page): Promise<string> {
      await page.waitForURL((u) => u.host === new URL(auth).host, { timeout: 30_000 });
      await page.waitForSelector("#login-email", { state: "visible" });
      return page.url();
    }

    before(async () => {
      const port = await freePort();
      auth = `http://auth.${DOMAIN}:${port}`;
      appUrl = `http://app.${DOMAIN}:${port}`;
      const dir = mkdtempSync(join(tmpdir(), "forward-auth-"));
      dirs.push(dir);
      const env = { STORAGE: "file", DATA_DIR: dir };
      const [bin, args] = tsCommand("src/entry/cli.ts");
      const [added, echo] = await Promise.all([
        runToEnd(bin, [...args, "user", "add", USER.email], env, 60_000, `${USER.password}\n`),
        startEchoApp(),
        launchBrowser([`--host-resolver-rules=MAP *.${DOMAIN} 127.0.0.1`]).then((b) => (browser = b)),
      ]);
      assert.equal(added.code, 0, added.stderr);
      app = echo;
      // As docs/DEPLOY.md says for this setup.
      service = await startServer(
        { ...env, AUTH_TYPE: "session_db_auth", TRUST_PROXY: "1", PUBLIC_URL: auth, COOKIE_DOMAIN: `.${DOMAIN}` },
        tsCommand(`src/entry/${RUNTIME}.ts`),
        90_000,
      );
      proxyRun = await proxy.start({ service: new URL(service.url).host, app: app.host, port, dir });
    });

    after(async () => {
      for (const c of contexts) await c.close().catch(() => {});
      await browser?.close().catch(() => {});
      proxyRun?.stop();
      await service?.stop("SIGTERM").catch(() => {});
      app?.server.closeAllConnections();
      app?.server.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it("sends a visitor without a session to the sign-in page, and back to the app after the login", async () => {
      const { context, page, outside } = await open();
      // A query with its own & and an escape: the URL comes back whole, though the proxy passes it unencoded.
      const target = `${appUrl}/reports?year=2026&q=a%20b`;
      // A header the client wrote: the app must never see it, signed in or not.
      await page.setExtraHTTPHeaders({ "X-Auth-User-Email": FORGED, "X-Auth-User-Id": "forged-id" });
      await page.goto(target);
      const signIn = await onSignInPage(page);
      assert.equal(signIn, `${auth}/?next=${target}`);
      assert.equal(app.seen.length, 0, "the app was reached without a session");

      await logIn(page);
      assert.equal(await appShows(page), USER.email);
      assert.equal(page.url(), target);
      const cookie = (await context.cookies(auth)).find((c) => c.name === "_my_session_id");
      assert.equal(cookie?.domain, `.${DOMAIN}`, "one cookie for the service and the app");
      const last = app.seen.at(-1)!;
      assert.equal(last["x-auth-user-email"], USER.email);
      assert.match(String(last["x-auth-user-id"]), /^[0-9a-f-]{36}$/);
      assert.ok(!app.seen.some((h) => JSON.stringify(h).includes(FORGED) || JSON.stringify(h).includes("forged-id")));
      assert.deepEqual(outside(), []);
    });

    it("goes straight back to the app from the sign-in page when the browser is signed in already", async () => {
      const { page } = await open();
      await page.goto(appUrl);
      await onSignInPage(page);
      await logIn(page);
      assert.equal(await appShows(page), USER.email);
      await page.goto(`${auth}/?next=${encodeURIComponent(`${appUrl}/again`)}`);
      assert.equal(await appShows(page), USER.email);
      assert.equal(page.url(), `${appUrl}/again`);
    });

    it("locks the app again as soon as the user logs out on the service", async () => {
      const { page } = await open();
      await page.goto(appUrl);
      await onSignInPage(page);
      await logIn(page);
      assert.equal(await appShows(page), USER.email);
      const seenBefore = app.seen.length;

      await page.goto(`${auth}/`);
      await page.click("#logout");
      await page.waitForSelector("#login-email", { state: "visible" });
      await page.goto(`${appUrl}/after-logout`);
      assert.equal(await onSignInPage(page), `${auth}/?next=${appUrl}/after-logout`);
      assert.equal(app.seen.length, seenBefore, "the app was reached after the logout");
    });

    it("ignores a next that leads off the domain: the browser stays on the service, and the log says why", async () => {
      const { page, outside } = await open();
      await page.goto(`${auth}/?next=https://evil.example/`);
      await page.waitForSelector("#login-email", { state: "visible" });
      await logIn(page);
      await page.waitForSelector("#me-title", { state: "visible" });
      assert.equal(new URL(page.url()).host, new URL(auth).host);
      assert.equal(await page.textContent("#me dd"), USER.email);
      assert.deepEqual(outside(), [], "the browser asked a host outside this machine");
      const refusal = service.output().split("\n").find((l) => l.includes("event=next_refused"));
      assert.ok(refusal, service.output());
      assert.match(refusal, / info /);
      assert.match(refusal, /url=https:\/\/evil\.example\//);
      assert.match(refusal, /reason="host evil\.example is neither auth\.example\.localhost nor under example\.localhost"/);
    });

    it("stops, with a word why, when the app does not see the login instead of bouncing the browser for ever", async () => {
      // A session cookie for the service's host only (one from before COOKIE_DOMAIN was set): the app never gets it.
      const login = await fetch(`${service.url}/api/v1/auth_session/login`, {
        method: "POST",
        body: new URLSearchParams({ email: USER.email, password: USER.password }),
      });
      assert.equal(login.status, 200);
      const token = /_my_session_id=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")![1];
      const { context, page } = await open();
      await context.addCookies([{ name: "_my_session_id", value: token, url: auth }]);
      const seenBefore = app.seen.length;
      await page.goto(`${appUrl}/loop`);
      // app → sign-in page (signed in) → app → sign-in page, which stays.
      await page.waitForSelector("#problem:not([hidden])", { timeout: 30_000 });
      assert.match(await page.textContent("#problem") ?? "", new RegExp(`app\\.${DOMAIN.replace(".", "\\.")}:\\d+ sent you back here`));
      assert.equal(new URL(page.url()).host, new URL(auth).host);
      assert.equal(await page.textContent("#me dd"), USER.email);
      assert.equal(app.seen.length, seenBefore);
    });

    more({ open, seen: () => app.seen, auth: () => auth, appUrl: () => appUrl });
  });
}
