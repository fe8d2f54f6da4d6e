import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createPasswordHasher } from "../src/auth/password.ts";
import { runCli } from "../src/cli/main.ts";
import { ROOT, runToEnd, type Server, startServer, tsCommand } from "./helpers/server.ts";

/**
 * docs/DEPLOY.md's backup of a file or KV store: `cli export` run as its own
 * process while a server keeps writing. The copy must be a snapshot: every
 * user whose sign-up was answered before the export started is in it, no
 * record is partial, every session belongs to an exported user, and the
 * copy imports into an empty store with the counts the export printed.
 */

const ADMIN = "ops@hbtn.io";
const PASSWORD = "Quartz-Lantern-Meadow-7";
const CLI = tsCommand("src/entry/cli.ts");
const USER_KEYS = ["_password", "created_at", "email", "first_name", "id", "last_name", "updated_at"];

type Store = { label: string; env: (dir: string) => Record<string, string> };
const STORES: Store[] = [
  { label: "file", env: (dir) => ({ STORAGE: "file", DATA_DIR: dir }) },
  { label: "kv", env: (dir) => ({ STORAGE: "kv", DATA_DIR: dir, KV_PATH: join(dir, "auth.kv") }) },
];

/** The export under test: the CLI as its own process, beside the running server. */
const exportCli = (env: Record<string, string>, folder: string) =>
  runToEnd(CLI[0], [...CLI[1], "export", folder], { LOG_LEVEL: "warn", ...env }, 90_000);

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;

/** Setting up and checking, with no server on the store: the CLI in-process (a process per step costs seconds on a busy machine). */
async function cli(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: { out: (t) => out.push(t), err: (t) => err.push(t), readPassword: () => Promise.resolve(PASSWORD) },
    env: { LOG_LEVEL: "warn", ...env },
    cwd: ROOT,
    pid: process.pid,
    denoOpenKv: deno ? (p) => deno.openKv(p) : undefined,
    hasher: createPasswordHasher({ iterations: 1000 }),
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Signs users up through the API until `stop()` (or 400 users); logs in every third, so sessions are written too. */
function keepWriting(server: Server, cookie: string, label: string) {
  const acknowledged: { email: string; at: number }[] = [];
  let stopped = false;
  const failures: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; !stopped && acknowledged.length < 400; i++) {
      const email = `${label}-${w}-${i}@hbtn.io`;
      const r = await fetch(`${server.url}/api/v1/users`, {
        method: "POST",
        headers: { Cookie: cookie, "Content-Type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD, first_name: `W${w}`, last_name: `N${i}` }),
      });
      if (r.status !== 201) failures.push(`${r.status} ${await r.text()}`);
      else {
        await r.body?.cancel();
        acknowledged.push({ email, at: Date.now() });
      }
      if (i % 3 === 0 && r.status === 201) {
        const login = await fetch(`${server.url}/api/v1/auth_session/login`, {
          method: "POST",
          body: new URLSearchParams({ email, password: PASSWORD }),
        });
        if (login.status !== 200) failures.push(`login ${login.status} ${await login.text()}`);
        await login.body?.cancel();
      }
    }
  };
  const done = Promise.all([0, 1, 2].map(worker));
  return {
    acknowledged,
    failures,
    stop: () => ((stopped = true), done),
  };
}

type UserRecord = Record<string, unknown>;

describe("backup: cli export while the server writes", () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  const tempDir = (label: string) => (dirs.push(mkdtempSync(join(tmpdir(), `backup-${label}-`))), dirs.at(-1)!);
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const store of STORES) {
    it(`${store.label}: three exports taken during sign-ups and logins are consistent snapshots that import whole`, async () => {
      const env = store.env(tempDir(store.label));
      const added = await cli(env, "user", "add", ADMIN);
      assert.equal(added.code, 0, added.stderr);
      const server = await startServer({ ...env, AUTH_TYPE: "session_db_auth" }, undefined, 60_000);
      servers.push(server);
      const login = await fetch(`${server.url}/api/v1/auth_session/login`, {
        method: "POST",
        body: new URLSearchParams({ email: ADMIN, password: PASSWORD }),
      });
      assert.equal(login.status, 200);
      const writer = keepWriting(server, (login.headers.get("set-cookie") ?? "").split(";")[0], store.label);

      const exports: { folder: string; startedAt: number; users: number; sessions: number }[] = [];
      try {
        for (let n = 0; n < 3; n++) {
          // Let some sign-ups land first, so each export meets a store that is changing.
          while (writer.acknowledged.length < 5 * (n + 1) && writer.failures.length === 0) await new Promise((r) => setTimeout(r, 50));
          const folder = join(tempDir(`${store.label}-export`), "copy");
          const startedAt = Date.now();
          const r = await exportCli(env, folder);
          assert.equal(r.code, 0, r.stderr);
          const m = /^exported (\d+) users?, (\d+) sessions?$/m.exec(r.stdout);
          assert.ok(m, r.stdout);
          exports.push({ folder, startedAt, users: Number(m[1]), sessions: Number(m[2]) });
        }
      } finally {
        await writer.stop();
      }
      assert.deepEqual(writer.failures, []);

      for (const e of exports) {
        const users = JSON.parse(readFileSync(join(e.folder, ".db_User.json"), "utf8")) as Record<string, UserRecord>;
        const sessions = JSON.parse(readFileSync(join(e.folder, ".db_UserSession.json"), "utf8")) as Record<string, UserRecord>;
        const list = Object.values(users);
        assert.equal(list.length, e.users);
        assert.equal(Object.keys(sessions).length, e.sessions);
        // No partial record: every user whole, with its password hash.
        for (const u of list) {
          assert.deepEqual(Object.keys(u).sort(), USER_KEYS, JSON.stringify(u));
          assert.match(String(u._password), /^pbkdf2/);
          assert.equal(users[String(u.id)], u);
        }
        // Nothing acknowledged before the export started is missing.
        const emails = new Set(list.map((u) => u.email));
        for (const a of writer.acknowledged.filter((a) => a.at < e.startedAt)) {
          assert.ok(emails.has(a.email), `${a.email} missing from a later export`);
        }
        // Every session belongs to a user of the same copy.
        for (const s of Object.values(sessions)) {
          assert.ok(users[String(s.user_id)], `session of user ${s.user_id}, who is not in the export`);
        }

        const fresh = store.env(tempDir(`${store.label}-restore`));
        const imported = await cli(fresh, "import", e.folder);
        assert.equal(imported.code, 0, imported.stderr);
        assert.match(imported.stdout, new RegExp(`imported ${e.users} users, 0 skipped\\nimported ${e.sessions} sessions, 0 skipped`));
        const listed = await cli(fresh, "user", "list", "--json");
        assert.equal(listed.code, 0, listed.stderr);
        const restored = listed.stdout.trim().split("\n").map((l) => JSON.parse(l) as UserRecord);
        assert.deepEqual(restored.map((u) => u.email).sort(), list.map((u) => u.email).sort());
      }
      // The exports grew with the store: they were taken while it changed.
      assert.ok(exports[2].users > exports[0].users, exports.map((e) => e.users).join());
    });
  }
});
