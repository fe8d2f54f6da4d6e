import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { basic, testApp } from "./helpers/app.ts";
import { openOn, removeDir, tempDir } from "./helpers/file-fixtures.ts";
import { createDatabase, SERVER_URL } from "./helpers/postgres.ts";
import { cliCommand, RUNTIME, runToEnd, scratchDir } from "./helpers/server.ts";
import { fullAccount } from "./helpers/account-contract.ts";
import { runCli } from "../src/cli/main.ts";
import { createPasswordHasher } from "../src/auth/password.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";
import { createKvDriver } from "../src/storage/kv/index.ts";
import { openKvStore } from "../src/storage/kv/open.ts";
import { openPostgres } from "../src/storage/postgres/connect.ts";
import { createPostgresDriver } from "../src/storage/postgres/index.ts";
import type { StorageDriver } from "../src/storage/driver.ts";

/**
 * Who is an admin under ACCESS_POLICY=self: an ADMIN_EMAILS address is only
 * a claim when it comes through the API (anyone can sign up with it, in any
 * case or Unicode spelling); the CLI's grant, run by the operator, proves it.
 * On every storage, with the CLI as a real process where the storage
 * outlives one (file, kv, postgres).
 */

const PW = "correct-Horse-9";
const NFC_JOSE = "jos\u00e9@hbtn.io";
const NFD_JOSE = "jose\u0301@hbtn.io";
const FULLWIDTH_ROOT = "\uff52\uff4f\uff4f\uff54@hbtn.io";
const ENV = {
  AUTH_TYPE: "basic_auth",
  ACCESS_POLICY: "self",
  ADMIN_EMAILS: `root@hbtn.io, ${NFC_JOSE}, carol@hbtn.io, dave@hbtn.io`,
};

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;

/** A storage to test on: how to open it, and the CLI's environment for it (null: in-process only). */
type Storage = {
  name: string;
  open(): Promise<{ open: () => Promise<StorageDriver>; cliEnv: Record<string, string> | null; cleanup: () => Promise<void> }>;
  /** The CLI needs the storage to itself (the file storage's folder lock). */
  exclusive?: boolean;
};

const storages: Storage[] = [
  {
    name: "memory",
    open() {
      const driver = createMemoryDriver();
      return Promise.resolve({ open: () => Promise.resolve(driver), cliEnv: null, cleanup: () => Promise.resolve() });
    },
  },
  {
    name: "file",
    exclusive: true,
    async open() {
      const dir = await tempDir();
      return { open: () => openOn(dir), cliEnv: { STORAGE: "file", DATA_DIR: dir }, cleanup: () => removeDir(dir) };
    },
  },
  {
    name: "kv",
    async open() {
      const dir = await mkdtemp(join(tmpdir(), "admin-kv-"));
      const path = join(dir, "auth.kv");
      const open = async () =>
        createKvDriver(await openKvStore(path, { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined }), { now: Date.now });
      return { open, cliEnv: { STORAGE: "kv", KV_PATH: path }, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];
if (SERVER_URL) {
  storages.push({
    name: "postgres",
    async open() {
      const db = await createDatabase("admin");
      const open = async () => {
        const { sql, target } = await openPostgres(db.url, { poolSize: 2 });
        return createPostgresDriver(sql, { now: Date.now, location: target.display });
      };
      return { open, cliEnv: { STORAGE: "postgres", DATABASE_URL: db.url }, cleanup: db.drop };
    },
  });
}

/** The CLI as a real process of this runtime (the way an operator runs it). */
function cliProcess(env: Record<string, string>, args: string[], input?: string) {
  return runToEnd(...cliCommand(args), { LOG_LEVEL: "warn", ...ENV, ...env }, 60_000, input);
}

/** The CLI in this process, over `driver` (a memory store has no other way in). */
async function cliInProcess(driver: StorageDriver, args: string[], input?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    io: { out: (t) => out.push(t), err: (t) => err.push(t), readPassword: () => Promise.resolve((input ?? "").trim()) },
    env: { LOG_LEVEL: "warn", ...ENV },
    cwd: scratchDir(),
    pid: process.pid,
    // The test keeps using the store after the command: the CLI's close is not passed on.
    openDriver: () => Promise.resolve({ ...driver, close: () => Promise.resolve() }),
    hasher: createPasswordHasher({ iterations: 1000 }),
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

for (const storage of storages) {
  describe(`admin rights need proof of the address: ${storage.name} storage on ${RUNTIME}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    it("a sign-up with an ADMIN_EMAILS address (any spelling) is a plain user; the CLI's grant makes an admin, kept across a restart", {
      timeout: 240_000,
    }, async () => {
      const s = await storage.open();
      cleanups.push(s.cleanup);
      let driver = await s.open();
      cleanups.push(() => driver.close());
      let t = testApp({ env: ENV, driver });
      const as = (email: string) => ({ Authorization: basic(email, PW) });

      // Any logged-in user may sign up others (the original's rule): bob, a
      // plain user, signs up the addresses ADMIN_EMAILS names, in other spellings too.
      const bob = await t.seed("bob@hbtn.io", PW);
      const claimants = ["Root@HBTN.io", NFC_JOSE, FULLWIDTH_ROOT];
      const ids = new Map<string, string>();
      for (const email of claimants) ids.set(email, (await t.createUser(email, PW, {}, as("bob@hbtn.io"))).id as string);
      // Emails compare after Unicode normalisation: the NFD spelling of a taken address is that address.
      const twin = await t.json("/api/v1/users", "POST", { email: NFD_JOSE, password: PW }, as("bob@hbtn.io"));
      assert.deepEqual([twin.status, await twin.json()], [400, { error: "Can't create User: email already exists" }]);

      /** Whether `email` acts as an admin: lists every user and changes another one. */
      const reach = async (email: string) => {
        const list = await t.request("/api/v1/users", { headers: as(email) });
        assert.equal(list.status, 200, email);
        const seen = ((await list.json()) as { id: string }[]).map((u) => u.id);
        const put = await t.json(`/api/v1/users/${bob.id}`, "PUT", { last_name: "B" }, as(email));
        const get = await t.request(`/api/v1/users/${bob.id}`, { headers: as(email) });
        return { seen, put: put.status, get: get.status };
      };
      const plain = async (email: string) => {
        const r = await reach(email);
        assert.deepEqual(r, { seen: [ids.get(email)], put: 403, get: 403 }, `${email} must be a plain user`);
      };
      const admin = async (email: string) => {
        const r = await reach(email);
        assert.equal(r.seen.length, await driver.countUsers(), `${email} lists everyone`);
        assert.deepEqual([r.put, r.get], [200, 200], `${email} is an admin`);
      };

      for (const email of claimants) await plain(email);

      // The operator's grants, and a user the CLI creates as an admin.
      const cli = async (args: string[], input?: string) => {
        if (!s.cliEnv) return await cliInProcess(driver, args, input);
        if (storage.exclusive) await driver.close();
        try {
          return await cliProcess(s.cliEnv, args, input);
        } finally {
          if (storage.exclusive) {
            driver = await s.open();
            t = testApp({ env: ENV, driver });
          }
        }
      };
      // Root's other state (tokens, a pending TOTP factor, passkeys): a grant changes the admin fields alone.
      const rootId = ids.get("Root@HBTN.io")!;
      const full = fullAccount(rootId);
      const state = { ...full, admin_granted_at: null, admin_email: null, totp: { ...full.totp!, confirmed_at: null } };
      await driver.putAccount(state);
      const granted = await cli(["user", "admin", "Root@HBTN.io"]);
      assert.equal(granted.code, 0, granted.stderr);
      assert.deepEqual({ ...(await driver.getAccount(rootId)), admin_granted_at: null, admin_email: null }, state);
      assert.match(granted.stdout, /granted admin rights to user [0-9a-f-]{36} <Root@HBTN\.io> for the address root@hbtn\.io/);
      // A grant for an address ADMIN_EMAILS does not list (a fullwidth look-alike) is said to do nothing.
      const fullwidth = await cli(["user", "admin", FULLWIDTH_ROOT]);
      assert.equal(fullwidth.code, 0, fullwidth.stderr);
      assert.match(fullwidth.stderr, /is not in ADMIN_EMAILS/);
      const added = await cli(["user", "add", "carol@hbtn.io", "--admin"], `${PW}\n`);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /created user .*\n?granted admin rights/);
      ids.set("carol@hbtn.io", (await driver.findUserByEmail("carol@hbtn.io"))!.id);

      await admin("Root@HBTN.io");
      await admin("carol@hbtn.io");
      for (const email of [NFC_JOSE, FULLWIDTH_ROOT]) await plain(email);

      // A restart (a new process on the same data) keeps the grants.
      if (storage.name !== "memory") {
        await driver.close();
        driver = await s.open();
        t = testApp({ env: ENV, driver });
        await admin("Root@HBTN.io");
        await admin("carol@hbtn.io");
        await plain(NFC_JOSE);
      }

      // The grant was for carol's address: moved to another ADMIN_EMAILS
      // address, the account holds a claim only.
      const carol = (await driver.getUser(ids.get("carol@hbtn.io")!))!;
      await driver.updateUser({ ...carol, email: "dave@hbtn.io" });
      const dave = await reach("dave@hbtn.io");
      assert.deepEqual(dave, { seen: [carol.id], put: 403, get: 403 });

      const revoked = await cli(["user", "admin", "--revoke", "Root@HBTN.io"]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /revoked the admin rights of user/);
      await plain("Root@HBTN.io");
    });
  });
}

describe(`admin grants travel with the data: export, import, migrate (${RUNTIME})`, () => {
  it("an exported grant is imported into Deno KV and migrated on to a file folder; the user file keeps the original's keys", async () => {
    const root = await mkdtemp(join(tmpdir(), "admin-transfer-"));
    try {
      const fileEnv = { STORAGE: "file", DATA_DIR: join(root, "data") };
      const kvEnv = { STORAGE: "kv", KV_PATH: join(root, "auth.kv"), DATA_DIR: join(root, "empty") };
      const { mkdir, readFile } = await import("node:fs/promises");
      for (const d of ["data", "empty"]) await mkdir(join(root, d));
      const run = async (env: Record<string, string>, args: string[], input?: string) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runCli(args, {
          io: { out: (t) => out.push(t), err: (t) => err.push(t), readPassword: () => Promise.resolve((input ?? "").trim()) },
          env: { LOG_LEVEL: "warn", ...ENV, ...env },
          cwd: root,
          pid: process.pid,
          hasher: createPasswordHasher({ iterations: 1000 }),
        });
        assert.equal(code, 0, err.join("\n"));
        return out.join("\n");
      };
      await run(fileEnv, ["user", "add", "root@hbtn.io", "--admin"], PW);
      await run(fileEnv, ["user", "add", "bob@hbtn.io"], PW);
      assert.match(await run(fileEnv, ["export", join(root, "out")]), /exported 2 users/);
      const users = JSON.parse(await readFile(join(root, "out", ".db_User.json"), "utf8")) as Record<string, object>;
      for (const u of Object.values(users)) {
        assert.deepEqual(Object.keys(u), ["id", "created_at", "updated_at", "email", "_password", "first_name", "last_name"]);
      }
      const accounts = JSON.parse(await readFile(join(root, "out", ".db_UserAccount.json"), "utf8")) as Record<
        string,
        { admin_email: string }
      >;
      assert.deepEqual(Object.values(accounts).map((a) => a.admin_email), ["root@hbtn.io"]);

      await run(kvEnv, ["import", join(root, "out")]);
      await run(kvEnv, ["migrate", "--to", "file", "--folder", join(root, "copy")]);
      for (const where of [kvEnv, { STORAGE: "file", DATA_DIR: join(root, "copy") }]) {
        const dir = await mkdtemp(join(root, "check-"));
        await run(where, ["export", dir]);
        const copied = JSON.parse(await readFile(join(dir, ".db_UserAccount.json"), "utf8")) as Record<string, { admin_email: string }>;
        assert.deepEqual(Object.values(copied).map((a) => a.admin_email), ["root@hbtn.io"], JSON.stringify(where));
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
