import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createPasswordHasher } from "../../src/auth/password.ts";
import { runCli } from "../../src/cli/main.ts";
import { parseDatabaseUrl } from "../../src/storage/postgres/url.ts";
import { createDatabase, SERVER_URL, type TestDatabase } from "../helpers/postgres.ts";
import { BOB, writeOriginalDataFolder } from "../helpers/seed-folder.ts";
import { RUNTIME, runToEnd, scratchDir, type Server, startCommand, startServer, tsCommand } from "../helpers/server.ts";

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;

/** Runs one CLI command in-process (cheap PBKDF2), returning its exit status and output. */
async function cli(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: { out: (t) => out.push(t), err: (t) => err.push(t), readPassword: () => Promise.resolve("a-password-1") },
    env: { LOG_LEVEL: "warn", ...env },
    cwd: scratchDir(),
    pid: process.pid,
    denoOpenKv: deno ? (p) => deno.openKv(p) : undefined,
    hasher: createPasswordHasher({ iterations: 1000 }),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const at = (s: Server, path: string, init: RequestInit = {}) => fetch(`${s.url}/api/v1${path}`, init);

async function login(s: Server, email: string, password: string): Promise<string> {
  const r = await at(s, "/auth_session/login", { method: "POST", body: new URLSearchParams({ email, password }) });
  assert.equal(r.status, 200, await r.text());
  return (r.headers.get("set-cookie") ?? "").split(";")[0];
}

/** PostgreSQL as users meet it: real servers, the CLI, and startup failures. */
export function postgresServiceTests(): void {
  describe("postgres: the service", () => {
    const dirs: string[] = [];
    const dbs: TestDatabase[] = [];
    const servers: Server[] = [];
    const tempDir = () => (dirs.push(mkdtempSync(join(tmpdir(), "pg-service-"))), dirs.at(-1)!);
    after(async () => {
      for (const s of servers) await s.stop("SIGKILL").catch(() => {});
      for (const d of dbs) await d.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it("refuses to start on a bad DATABASE_URL: exit 1, one line naming the database and the cause, never the password", async () => {
      const server = parseDatabaseUrl(SERVER_URL!);
      const url = (user: string, database: string, port = server.port) => `postgres://${user}:s3cret@${server.host}:${port}/${database}`;
      const cases: [string | undefined, RegExp][] = [
        [undefined, /^error: STORAGE=postgres needs DATABASE_URL/],
        ["s3cret garbage", /^error: DATABASE_URL is not a valid URL/],
        ["mysql://app:s3cret@db/auth", /^error: DATABASE_URL must start with postgres:\/\//],
        [url("app", "auth", 1), new RegExp(`^error: Cannot open PostgreSQL database ${server.host}:1/auth: .*ECONNREFUSED`)],
        [
          url(server.user, "sa_no_such_database"),
          /^error: Cannot open PostgreSQL database .*\/sa_no_such_database: 3D000: .*does not exist/,
        ],
        [
          url("sa_no_such_role", server.database),
          /^error: Cannot open PostgreSQL database .*: 28000: role "sa_no_such_role" does not exist/,
        ],
      ];
      const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
      for (const [databaseUrl, expected] of cases) {
        const env: Record<string, string> = { STORAGE: "postgres", API_HOST: "127.0.0.1", API_PORT: "0", DATABASE_URL: databaseUrl ?? "" };
        const r = await runToEnd(bin, args, env);
        const lines = r.stderr.trim().split("\n");
        assert.equal(r.code, 1, r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], expected);
        assert.doesNotMatch(r.stderr + r.stdout, /s3cret|listening/);
      }
    });

    it("imports, lists and exports through the CLI, and migrates file -> postgres -> kv -> file -> postgres unchanged", async () => {
      const [one, two] = [await createDatabase("cli"), await createDatabase("cli")];
      dbs.push(one, two);
      const pg = (db: TestDatabase) => ({ STORAGE: "postgres", DATABASE_URL: db.url });
      const seed = writeOriginalDataFolder(tempDir());
      const work = tempDir();
      const imported = await cli(pg(one), "import", seed);
      assert.equal(imported.code, 0, imported.err);
      assert.match(imported.out, /imported 4 users, 0 skipped\nimported 1 session, 0 skipped/);
      assert.equal((await cli(pg(one), "user", "add", "carol@hbtn.io")).code, 0);
      const listed = await cli(pg(one), "user", "list", "--json");
      const users = listed.out.split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(users.map((u) => u.email), [BOB.email, "nopass@hbtn.io", BOB.email, "", "carol@hbtn.io"]);

      const kvPath = join(work, "copy.kv");
      const toKv = await cli(pg(one), "migrate", "--to", "kv", "--kv-path", kvPath);
      assert.equal(toKv.code, 0, toKv.err);
      assert.match(toKv.out, new RegExp(`^copied 5 users and 1 session from postgres storage at .*/${one.name} to kv storage at `));
      const toFile = await cli({ STORAGE: "kv", KV_PATH: kvPath }, "migrate", "--to", "file", "--folder", join(work, "files"));
      assert.equal(toFile.code, 0, toFile.err);
      const toPg = await cli({ STORAGE: "file", DATA_DIR: join(work, "files") }, "migrate", "--to", "postgres", "--database-url", two.url);
      assert.equal(toPg.code, 0, toPg.err);
      const exported = [join(work, "out-one"), join(work, "out-two")];
      assert.equal((await cli(pg(one), "export", exported[0])).code, 0);
      assert.equal((await cli(pg(two), "export", exported[1])).code, 0);
      for (const f of [".db_User.json", ".db_UserSession.json"]) {
        assert.equal(readFileSync(join(exported[1], f), "utf8"), readFileSync(join(exported[0], f), "utf8"), f);
      }
      // Again: everything is there already, so nothing is added; a target holding other records is refused.
      const again = await cli({ STORAGE: "file", DATA_DIR: join(work, "files") }, "migrate", "--to", "postgres", "--database-url", two.url);
      assert.match(again.out, /^copied 0 users and 0 sessions .*skipped, already there or ended: 5 users, 1 session/);
      assert.equal((await cli(pg(two), "user", "add", "dave@hbtn.io")).code, 0);
      const refused = await cli({ STORAGE: "kv", KV_PATH: kvPath }, "migrate", "--to", "postgres", "--database-url", two.url);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /already holds 1 user and 0 sessions that kv storage at .* does not/);
    });

    const only = RUNTIME === "node" ? false : "starts servers on all three runtimes; runs in the Node pass";
    it("Deno, Node and Bun servers on one database share users, sessions and sign-ups", { skip: only }, async () => {
      const db = await createDatabase("servers");
      dbs.push(db);
      const env = { STORAGE: "postgres", DATABASE_URL: db.url, AUTH_TYPE: "session_db_auth", DATA_DIR: writeOriginalDataFolder(tempDir()) };
      // Started together on the new database: one migrates and imports the data folder, the others wait and find it done.
      const [denoSrv, nodeSrv, bunSrv] = await Promise.all(
        (["deno", "node", "bun"] as const).map((rt) => startServer(env, startCommand(rt), 60_000)),
      );
      servers.push(denoSrv, nodeSrv, bunSrv);
      const all = [denoSrv, nodeSrv, bunSrv];
      const bob = await login(denoSrv, BOB.email, BOB.password);
      const json = { Cookie: bob, "content-type": "application/json" };
      const signUp = (s: Server, email: string) =>
        at(s, "/users", { method: "POST", headers: json, body: JSON.stringify({ email, password: "Tr0mbone-Sky-4" }) });
      assert.equal((await signUp(denoSrv, "carol@hbtn.io")).status, 201);
      const carol = await login(nodeSrv, "carol@hbtn.io", "Tr0mbone-Sky-4");
      const me = await at(bunSrv, "/users/me", { headers: { Cookie: carol } });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { email: string }).email, "carol@hbtn.io");
      assert.equal((await at(denoSrv, "/auth_session/logout", { method: "DELETE", headers: { Cookie: carol } })).status, 200);
      for (const s of all) assert.equal((await at(s, "/users/me", { headers: { Cookie: carol } })).status, 403, s.output());

      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => signUp(all[i % 3], i % 2 ? "race@hbtn.io" : "RACE@hbtn.io")));
      const statuses = answers.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join());
      assert.equal(statuses.filter((s) => s === 400).length, 99, statuses.join());
      const list = (await (await at(bunSrv, "/users", { headers: { Cookie: bob } })).json()) as { email: string }[];
      assert.equal(list.filter((u) => u.email.toLowerCase() === "race@hbtn.io").length, 1);
      assert.equal(list.length, 6, "4 imported once, carol, one race winner");
      assert.doesNotMatch(all.map((s) => s.output()).join("\n"), /error|storage unavailable/i);
    });
  });
}
