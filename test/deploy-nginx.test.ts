import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Nginx, nginxMissing, startNginx } from "./helpers/nginx.ts";
import { createDatabase, HOW_TO_RUN, SERVER_URL, type TestDatabase } from "./helpers/postgres.ts";
import { freePort, ROOT, runToEnd, type Server, startServer, tsCommand } from "./helpers/server.ts";

/**
 * docs/DEPLOY.md's team setup, followed: deploy/nginx.conf as shipped (only
 * its listen port and the three instance addresses replaced) in front of a
 * Deno, a Bun and a Node instance on one PostgreSQL database, each with
 * TRUST_PROXY=1 as the guide says.
 */

const skip = !SERVER_URL ? `needs PostgreSQL: ${HOW_TO_RUN}` : nginxMissing();
const EMAIL = "ops@hbtn.io";
const PASSWORD = "Quartz-Lantern-Meadow-7";
// A client that writes its own X-Forwarded-For, hoping to be logged as someone else.
const FORGED = "203.0.113.9";

/** deploy/nginx.conf with only the marked lines' values replaced; fails if a marked line is missing. */
function siteFor(site: string, port: number, instances: string[]): string {
  const listen = /^(\s*listen\s+)\S+(;\s*#\s*public\b.*)$/m;
  const instance = /^(\s*server\s+)\S+(;\s*#\s*instance\b.*)$/gm;
  assert.match(site, listen, "deploy/nginx.conf has no `listen ...; # public` line");
  assert.equal(site.match(instance)?.length, instances.length, "deploy/nginx.conf should name three `server ...; # instance` lines");
  let i = 0;
  return site.replace(listen, `$1127.0.0.1:${port}$2`).replace(instance, (_, head, tail) => `${head}${instances[i++]}${tail}`);
}

const accessLines = (s: Server, path: string) =>
  s.output().split("\n").filter((l) => l.includes(" access ") && l.includes(`path=${path} `));

describe("deploy: three runtimes on PostgreSQL behind nginx, as docs/DEPLOY.md says", { skip }, () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  let db: TestDatabase | undefined;
  let nginx: Nginx | undefined;
  let proxy = "";
  let cookie = "";
  const tempDir = (label: string) => (dirs.push(mkdtempSync(join(tmpdir(), `deploy-${label}-`))), dirs.at(-1)!);

  before(async () => {
    db = await createDatabase("deploy");
    const env = { STORAGE: "postgres", DATABASE_URL: db.url, AUTH_TYPE: "session_db_auth", TRUST_PROXY: "1" };
    // Each instance has a data folder of its own (and nothing in it): the users live in PostgreSQL.
    const started = await Promise.all(
      (["deno", "bun", "node"] as const).map((rt) =>
        startServer({ ...env, DATA_DIR: tempDir(rt) }, tsCommand(`src/entry/${rt}.ts`, rt), 90_000)
      ),
    );
    servers.push(...started);
    const [bin, args] = tsCommand("src/entry/cli.ts");
    const added = await runToEnd(bin, [...args, "user", "add", EMAIL], { ...env, DATA_DIR: tempDir("cli") }, 60_000, `${PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);

    const port = await freePort();
    const site = readFileSync(join(ROOT, "deploy/nginx.conf"), "utf8");
    proxy = `http://127.0.0.1:${port}`;
    const ready = () => fetch(`${proxy}/api/v1/status`).then((r) => r.status === 200, () => false);
    nginx = await startNginx(siteFor(site, port, servers.map((s) => new URL(s.url).host)), port, { parent: tempDir("nginx"), ready });
  });

  after(async () => {
    nginx?.proc.kill("SIGKILL");
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("logs in through nginx; the cookie works on every instance, each of which answered through nginx", async () => {
    const login = await fetch(`${proxy}/api/v1/auth_session/login`, {
      method: "POST",
      headers: { "X-Forwarded-For": FORGED },
      body: new URLSearchParams({ email: EMAIL, password: PASSWORD }),
    });
    assert.equal(login.status, 200, await login.text());
    cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    assert.match(cookie, /^_my_session_id=[\w-]{40,}$/);

    for (const s of servers) {
      const me = await fetch(`${s.url}/api/v1/users/me`, { headers: { Cookie: cookie } });
      assert.equal(me.status, 200, s.output());
      assert.equal(((await me.json()) as { email: string }).email, EMAIL);
    }
    // Round robin: six requests through nginx reach each of the three instances (/stats is asked only through nginx).
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${proxy}/api/v1/stats`, { headers: { Cookie: cookie, "X-Forwarded-For": FORGED } });
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
    // Access lines are written after the answer: wait for them (bounded) rather than sleep.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && servers.some((s) => accessLines(s, "/api/v1/stats").length < 2)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of servers) assert.equal(accessLines(s, "/api/v1/stats").length, 2, `not reached twice through nginx:\n${s.output()}`);
  });

  it("logs the address nginx saw (from X-Forwarded-For), never the one the client wrote", () => {
    const proxied = servers.flatMap((s) => [...accessLines(s, "/api/v1/stats"), ...accessLines(s, "/api/v1/auth_session/login")]);
    assert.equal(proxied.length, 7, proxied.join("\n"));
    // nginx reached the instances from 127.0.0.2 (proxy_bind): 127.0.0.1 can only come from X-Forwarded-For.
    for (const line of proxied) assert.match(line, /\bclient=127\.0\.0\.1(\s|$)/);
    for (const s of servers) assert.doesNotMatch(s.output(), new RegExp(FORGED.replaceAll(".", "\\.")));
  });

  it("accepts a browser's same-origin login through nginx and refuses a cross-site one", async () => {
    const form = new URLSearchParams({ email: EMAIL, password: PASSWORD });
    const sameOrigin = await fetch(`${proxy}/api/v1/auth_session/login`, {
      method: "POST",
      headers: { Origin: proxy, "Sec-Fetch-Site": "same-origin" },
      body: form,
    });
    assert.equal(sameOrigin.status, 200, await sameOrigin.text());
    const crossSite = await fetch(`${proxy}/api/v1/auth_session/login`, {
      method: "POST",
      headers: { Origin: "http://evil.example", "Sec-Fetch-Site": "cross-site" },
      body: form,
    });
    assert.equal(crossSite.status, 403, await crossSite.text());
  });

  it("keeps serving, logins included, while one instance is stopped (as during an upgrade)", async () => {
    const stopped = servers[2];
    assert.equal(await stopped.stop("SIGTERM"), 0, stopped.output());
    // nginx sends a request the stopped instance refused to the next one; a refused connection sent nothing, so a POST is retried too.
    for (let i = 0; i < 3; i++) {
      const login = await fetch(`${proxy}/api/v1/auth_session/login`, {
        method: "POST",
        body: new URLSearchParams({ email: EMAIL, password: PASSWORD }),
      });
      assert.equal(login.status, 200, await login.text());
      const me = await fetch(`${proxy}/api/v1/users/me`, { headers: { Cookie: (login.headers.get("set-cookie") ?? "").split(";")[0] } });
      assert.equal(me.status, 200, await me.text());
    }
    // And the stopped instance was tried: nginx logged the refusal and went on.
    assert.match(nginx!.errorLog(), /connect\(\) failed \(111: Connection refused\)/);
  });
});
