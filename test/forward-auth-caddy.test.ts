import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOMAIN, forwardAuthSuite } from "./helpers/forward-auth-suite.ts";
import { accepting } from "./helpers/nginx.ts";
import { ROOT } from "./helpers/server.ts";

/**
 * docs/DEPLOY.md's "Protecting another app" with Caddy: deploy/Caddyfile.forward-auth
 * as shipped (only its addresses given local ports, and example.com renamed
 * to example.localhost over plain HTTP, with global options that keep Caddy
 * to loopback and a scratch folder) in Debian's Caddy, through the common
 * forward-auth suite. Skipped where Caddy is not installed.
 */

const CADDY = "/usr/bin/caddy";

/** deploy/Caddyfile.forward-auth for this machine; fails if a site, an upstream or the redirect is missing. */
function caddyfileFor(file: string, port: number, service: string, app: string, dir: string): string {
  const sites = /^(auth|app)\.example\.com \{$/gm;
  assert.equal(file.match(sites)?.length, 2, "the sites auth.example.com and app.example.com");
  assert.equal(file.match(/127\.0\.0\.1:5000/g)?.length, 2, "the service, as site and as check");
  assert.match(file, /reverse_proxy 127\.0\.0\.1:8080$/m);
  assert.ok(file.includes("https://auth.example.com/?next="), "the sign-in redirect");
  const global = `{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n\tstorage file_system ${join(dir, "caddy-data")}\n}\n`;
  return global + file.replaceAll("https://auth.example.com", `http://auth.${DOMAIN}:${port}`)
    .replace(sites, `http://$1.${DOMAIN}:${port} {`)
    .replaceAll("127.0.0.1:5000", service)
    .replaceAll("127.0.0.1:8080", app);
}

forwardAuthSuite({
  name: "Caddy's forward_auth",
  skip: existsSync(CADDY) ? false : "needs Caddy: apt-get install -y caddy",
  async start({ service, app, port, dir }) {
    const file = join(dir, "Caddyfile");
    writeFileSync(file, caddyfileFor(readFileSync(join(ROOT, "deploy/Caddyfile.forward-auth"), "utf8"), port, service, app, dir));
    const home = { HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), XDG_DATA_HOME: join(dir, "data") };
    const proc = spawn(CADDY, ["run", "--config", file, "--adapter", "caddyfile"], {
      env: { PATH: process.env.PATH ?? "", ...home },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let output = "";
    proc.stderr.on("data", (d) => (output += d));
    const deadline = Date.now() + 15_000;
    while (!(await accepting(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`Caddy did not start (exit ${proc.exitCode}): ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { stop: () => void proc.kill("SIGKILL") };
  },
}, ({ open, seen, auth }) => {
  it("never reaches the app through an address or a host name it does not serve", async () => {
    const { page } = await open();
    const seenBefore = seen().length;
    // Caddy answers a host no site names with an empty 200 of its own.
    const answer = await page.goto(`http://127.0.0.1:${new URL(auth()).port}/`);
    assert.equal(await answer?.text(), "");
    assert.equal(seen().length, seenBefore);
  });
});
