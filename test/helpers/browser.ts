import { existsSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ROOT, RUNTIME } from "./server.ts";

/**
 * What the browser tests need: Debian's Chromium driven by playwright-core
 * (which runs under Deno, Bun and Node alike), a guard that fails on any
 * request leaving this machine, screenshots, and a tiny static server that
 * plays another origin.
 */

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or false. Without Chromium they are
 * skipped on a developer's machine; under CI (CI set) they run and fail, so
 * that a CI run never passes without them.
 */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM) || process.env.CI) return false;
  return `${CHROMIUM} is missing: install it with "apt-get install -y chromium" to run the browser tests`;
}

/**
 * Chromium, headless, with no calls home. Each launch gets a fresh profile:
 * Playwright starts it with a new temporary --user-data-dir and removes it
 * when the browser closes.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; .ci/run installs it with apt-get install -y chromium`);
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
    ],
    timeout: 30_000,
  });
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Records every request of a context that would leave this machine. */
export function guardHosts(context: BrowserContext): () => string[] {
  const outside: string[] = [];
  context.on("request", (request) => {
    const url = new URL(request.url());
    if (["data:", "blob:", "about:"].includes(url.protocol)) return;
    // Names under .localhost are loopback too (RFC 6761; Chromium resolves them itself).
    if (!LOCAL_HOSTS.has(url.hostname) && !url.hostname.endsWith(".localhost")) outside.push(request.url());
  });
  return () => outside;
}

/**
 * The screenshot docs/BROWSER.md tells to copy to docs/sign-in.png: the
 * first screen of the signed-in page, at test-results/browser/<runtime>/sign-in.png.
 */
export async function pictureForReadme(page: Page): Promise<void> {
  await page.screenshot({ path: join(ROOT, "test-results", "browser", RUNTIME, "sign-in.png"), fullPage: false });
}

/** Saves numbered screenshots under test-results/browser/<runtime>/<name>/ (git-ignored). */
export function screenshots(name: string) {
  const dir = join(ROOT, "test-results", "browser", RUNTIME, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (page: Page, step: string, fullPage = true): Promise<string> => {
    const file = join(dir, `${String(++n).padStart(2, "0")}-${step}.png`);
    await page.screenshot({ path: file, fullPage });
    return file;
  };
}

/** A static server on 127.0.0.1, another origin than the API's: pages are set per path. */
export async function startSite(): Promise<
  { origin: string; port: number; page: (path: string, html: string) => void; close: () => Promise<void> }
> {
  const pages = new Map<string, string>();
  const server = createServer((req, res) => {
    const html = pages.get(new URL(req.url ?? "/", "http://x").pathname);
    res.writeHead(html === undefined ? 404 : 200, { "content-type": "text/html; charset=utf-8" });
    res.end(html ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    page: (path, html) => void pages.set(path, html),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
