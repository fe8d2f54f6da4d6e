import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DOMAIN, forwardAuthSuite } from "./helpers/forward-auth-suite.ts";
import { nginxMissing, startNginx } from "./helpers/nginx.ts";
import { ROOT } from "./helpers/server.ts";

/**
 * docs/DEPLOY.md's "Protecting another app" with nginx: deploy/nginx-forward-auth.conf
 * as shipped (only the lines marked "# public", "# service" and "# app"
 * given local ports, and example.com renamed to example.localhost over
 * plain HTTP) in Debian's nginx, through the common forward-auth suite,
 * plus what this file adds: a catch-all server and an internal check.
 */

/** deploy/nginx-forward-auth.conf for this machine; fails if a marked line or the example host is missing. */
function siteFor(site: string, port: number, service: string, app: string): string {
  const listen = /^(\s*listen\s+)\S+((?:\s+default_server)?;\s*#\s*public\b.*)$/gm;
  const upstream = (mark: string) => new RegExp(`^(\\s*server\\s+)\\S+(;\\s*#\\s*${mark}\\b.*)$`, "m");
  assert.equal(site.match(listen)?.length, 3, "three `listen ...; # public` lines");
  assert.match(site, upstream("service"));
  assert.match(site, upstream("app"));
  assert.ok(site.includes("https://auth.example.com/?next="), "the sign-in redirect");
  return site.replace(listen, `$1127.0.0.1:${port}$2`)
    .replace(upstream("service"), `$1${service}$2`)
    .replace(upstream("app"), `$1${app}$2`)
    .replaceAll("https://auth.example.com", `http://auth.${DOMAIN}:${port}`)
    .replaceAll("example.com", DOMAIN);
}

forwardAuthSuite({
  name: "nginx's auth_request",
  skip: nginxMissing(),
  async start({ service, app, port, dir }) {
    const site = siteFor(readFileSync(join(ROOT, "deploy/nginx-forward-auth.conf"), "utf8"), port, service, app);
    const nginx = await startNginx(site, port, { parent: dir });
    return { stop: () => void nginx.proc.kill("SIGKILL") };
  },
}, ({ open, seen, auth, appUrl }) => {
  it("reaches the app through its own host name and the check only: not by address, not at the check's path", async () => {
    const { context, page } = await open();
    const seenBefore = seen().length;
    // Another Host (here the bare address): the catch-all server closes the connection without an answer.
    await assert.rejects(page.goto(`http://127.0.0.1:${new URL(auth()).port}/`), /ERR_EMPTY_RESPONSE/);
    // The check's location is internal.
    const check = await (await context.newPage()).goto(`${appUrl()}/_auth`);
    assert.equal(check?.status(), 404);
    assert.equal(seen().length, seenBefore);
  });
});
