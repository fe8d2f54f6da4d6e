import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { browserSkipReason, guardHosts, launchBrowser } from "./helpers/browser.ts";
import { freePort, type Nginx, nginxMissing, startNginx } from "./helpers/nginx.ts";
import { ROOT, RUNTIME, runToEnd, type Server, startServer, tsCommand } from "./helpers/server.ts";

/**
 * docs/DEPLOY.md's "Protecting another app", followed: deploy/nginx-forward-auth.conf
 * as shipped (only its ports given, and example.com renamed to a loopback
 * domain) runs Debian's nginx in front of the service, started on the
 * runtime running this file, and of a tiny app that shows the
 * X-Auth-User-Email it receives. Chromium visits the app: sent to the
 * sign-in page, back after the login, locked again after a logout.
 *
 * The two hosts are auth.example.localhost and app.example.localhost, with
 * COOKIE_DOMAIN=.example.localhost: one session cookie for both, as with
 * example.com in production (Chromium keeps a cookie for a domain under
 * .localhost like any other). Chromium is told to resolve them to 127.0.0.1.
 */

const skip = browserSkipReason() || nginxMissing();
const USER = { email: "grace@hbtn.io", password: "Compiler-Harbor-Lamp-9" };
const DOMAIN = "example.localhost";
const FORGED = "mallory@evil.example";

/** deploy/nginx-forward-auth.conf for this machine; fails if a marked line or the example host is missing. */
function siteFor(site: string, port: number, service: string, app: string): string {
  const count = (re: RegExp) => site.match(re)?.length ?? 0;
  const listen = /^(\s*listen\s+)\S+((?:\s+default_server)?;\s*#\s*public\b.*)$/gm;
  const upstream = (mark: string) => new RegExp(`^(\\s*server\\s+)\\S+(;\\s*#\\s*${mark}\\b.*)$`, "m");
  assert.equal(count(listen), 3, "three `listen ...; # public` lines");
  assert.match(site, upstream("service"));
  assert.match(site, upstream("app"));
  assert.ok(site.includes("https://auth.example.com/?next="), "the sign-in redirect");
  return site.replace(listen, `$1127.0.0.1:${port}$2`)
    .replace(upstream("service"), `$1${service}$2`)
    .replace(upstream("app"), `$1${app}$2`)
    .replaceAll("https://auth.example.com", `http://auth.${DOMAIN}:${port}`)
    .replaceAll("example.com", DOMAIN);
}

/** The protected app: a page showing who nginx says is signed in; it remembers every request's headers. */
async function startEchoApp(): Promise<{ server: HttpServer; host: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const header = (name: string) => escape(String(req.headers[name] ?? ""));
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>App</title><p id="email">${header("x-auth-user-email")}</p><p id="id">${header("x-auth-user-id")}</p>`);
  });
  // Loopback only, as the example says: reached around nginx it would believe any header.
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe(`forward auth: an app behind nginx's auth_request, signed in by the service on ${RUNTIME}`, { skip, timeout: 180_000 }, () => {
  const dirs: string[] = [];
  const contexts: BrowserContext[] = [];
  let browser: Browser;
  let service: Server;
  let nginx: Nginx;
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
    await page.waitForURL((u) => u.host === new URL(appUrl).host, { timeout: 15_000 });
    return await page.textContent("#email") ?? "";
  }

  /** The sign-in page, reached by a redirect from the app, with `next` pointing back. */
  async function onSignInPage(page: Page): Promise<string> {
    await page.waitForURL((u) => u.host === new URL(auth).host, { timeout: 15_000 });
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
    const site = siteFor(readFileSync(join(ROOT, "deploy/nginx-forward-auth.conf"), "utf8"), port, new URL(service.url).host, app.host);
    nginx = await startNginx(site, port, { parent: dir });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    nginx?.proc.kill("SIGKILL");
    await service?.stop("SIGTERM").catch(() => {});
    app?.server.closeAllConnections();
    app?.server.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("sends a visitor without a session to the sign-in page, and back to the app after the login", async () => {
    const { context, page, outside } = await open();
    // A query with its own & and an escape: the URL comes back whole, though nginx passes it unencoded.
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

  it("reaches the app through its own host name and the check only: not by address, not at the check's path", async () => {
    const { context, page } = await open();
    const seenBefore = app.seen.length;
    // Another Host (here the bare address): nginx closes the connection without an answer.
    await assert.rejects(page.goto(`http://127.0.0.1:${new URL(auth).port}/`), /ERR_EMPTY_RESPONSE/);
    // The check's location is internal.
    const check = await (await context.newPage()).goto(`${appUrl}/_auth`);
    assert.equal(check?.status(), 404);
    assert.equal(app.seen.length, seenBefore);
  });
});
