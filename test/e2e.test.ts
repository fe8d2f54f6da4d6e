import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, RUNTIME, runToEnd, type Server, startCommand, startServer, tsCommand } from "./helpers/server.ts";
import { BOB, LEGACY_SESSION, writeOriginalDataFolder } from "./helpers/seed-folder.ts";

const basic = (e: string, p: string) => "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${e}:${p}`)));

describe(`end to end on ${RUNTIME}`, () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("the README's start command serves the seed's curl walkthrough on a data folder of the original", async () => {
    const dir = writeOriginalDataFolder();
    dirs.push(dir);
    const s = await startServer(
      { AUTH_TYPE: "session_db_auth", DATA_DIR: dir, SESSION_NAME: "_my_session_id", LOG_LEVEL: "debug" },
      startCommand(),
    );
    servers.push(s);
    assert.match(s.output(), new RegExp(`\\(${RUNTIME} `), "the runtime that answers is the one asked for");
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.match(
      s.output(),
      new RegExp(`, pid \\d+, v${version.replaceAll(".", "\\.")}, AUTH_TYPE=`),
      "the version is in the startup line",
    );
    const api = (p: string, init?: RequestInit) => fetch(s.url + "/api/v1" + p, init);

    assert.deepEqual(await (await api("/status")).json(), { status: "OK" });
    // The garbage of loading is collected once after the start, with the permissions the start command grants.
    for (let i = 0; i < 50 && !s.output().includes("released the memory of loading"); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(s.output(), /debug released the memory of loading in \d+ ms/);
    assert.equal((await api("/users")).status, 401);

    // A legacy session of the original still works (stored hashed from now on).
    const legacy = await api("/users/me", { headers: { Cookie: `_my_session_id=${LEGACY_SESSION}` } });
    assert.equal(legacy.status, 200);
    assert.equal(((await legacy.json()) as { id: string }).id, BOB.id);

    // Login with the legacy SHA-256 password: the first of the duplicate emails.
    const login = await api("/auth_session/login", {
      method: "POST",
      body: new URLSearchParams({ email: BOB.email, password: BOB.password }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const me = (await (await api("/users/me", { headers: { Cookie: cookie } })).json()) as Record<string, string>;
    assert.equal(me.id, BOB.id);
    assert.equal(me.first_name, "Bob");

    const list = (await (await api("/users", { headers: { Cookie: cookie } })).json()) as { id: string; first_name: string }[];
    assert.deepEqual(list.map((u) => u.id), [BOB.id, "u-null", "u-dup", "u-empty"]);
    assert.equal(list[3].first_name, "Zoë");

    const created = await api("/users", {
      method: "POST",
      headers: { Cookie: cookie, "content-type": "application/json" },
      body: JSON.stringify({ email: "new@hbtn.io", password: "fresh-passw0rd" }),
    });
    assert.equal(created.status, 201);

    const out = await api("/auth_session/logout", { method: "DELETE", headers: { Cookie: cookie } });
    assert.equal(out.status, 200);
    assert.equal((await api("/users/me", { headers: { Cookie: cookie } })).status, 403);

    // A clean stop leaves the original's format at rest, with hashed sessions only.
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
    const users = JSON.parse(readFileSync(join(dir, ".db_User.json"), "utf8"));
    assert.equal(Object.keys(users).length, 5);
    assert.deepEqual(Object.keys(users[BOB.id]), ["id", "created_at", "updated_at", "email", "_password", "first_name", "last_name"]);
    assert.match(users[BOB.id]._password, /^pbkdf2_sha256\$/, "the legacy hash was upgraded");
    assert.equal(users[BOB.id].updated_at, "2024-03-02T11:30:00");
    const sessionsText = readFileSync(join(dir, ".db_UserSession.json"), "utf8");
    assert.ok(!sessionsText.includes(LEGACY_SESSION), "no raw token at rest");
    assert.ok(!sessionsText.includes(cookie.split("=")[1]));
    assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith(".db_User")), []);
  });

  it("Basic auth over HTTP, and a SIGINT stops the server with exit 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-"));
    dirs.push(dir);
    const s = await startServer({ AUTH_TYPE: "basic_auth", DATA_DIR: dir });
    servers.push(s);
    const api = (p: string, init?: RequestInit) => fetch(s.url + "/api/v1" + p, init);
    const r = await api("/users");
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate") ?? "", /Basic/);
    assert.equal((await api("/users", { headers: { Authorization: basic("x@y.z", "nope") } })).status, 403);
    assert.equal((await api("/users", { method: "POST", headers: { Authorization: "Basic !!!" }, body: "{" })).status, 403);
    assert.equal(await s.stop("SIGINT"), 0);
    servers.pop();
  });

  it("a data folder of the original, imported into Deno KV with the CLI, serves the same users and passwords", async () => {
    const seed = writeOriginalDataFolder();
    const data = mkdtempSync(join(tmpdir(), "e2e-kv-"));
    dirs.push(seed, data);
    const env = { STORAGE: "kv", DATA_DIR: data, KV_PATH: join(data, "auth.kv") };
    const [bin, args] = tsCommand("src/entry/cli.ts");
    const first = await runToEnd(bin, [...args, "import", seed], env, 60_000);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /imported 4 users, 0 skipped/);
    const again = await runToEnd(bin, [...args, "import", seed], env, 60_000);
    assert.match(again.stdout, /imported 0 users, 4 skipped/);

    const s = await startServer({ ...env, AUTH_TYPE: "basic_auth" });
    servers.push(s);
    const me = await fetch(s.url + "/api/v1/users/me", { headers: { Authorization: basic(BOB.email, BOB.password) } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { id: string }).id, BOB.id);
    assert.equal((await fetch(s.url + "/api/v1/users/me", { headers: { Authorization: basic(BOB.email, "wrong") } })).status, 403);
    const list = (await (await fetch(s.url + "/api/v1/users", { headers: { Authorization: basic(BOB.email, BOB.password) } })).json()) as {
      id: string;
    }[];
    assert.deepEqual(list.map((u) => u.id), [BOB.id, "u-null", "u-dup", "u-empty"]);
    assert.equal(await s.stop("SIGTERM"), 0);
    servers.pop();
  });
});
