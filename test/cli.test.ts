import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createPasswordHasher } from "../src/auth/password.ts";

const verifyPassword = (password: string, stored: string | null) => createPasswordHasher({ iterations: 1000 }).verify(password, stored);
import { parseArgs, UsageError } from "../src/cli/args.ts";
import { runCli } from "../src/cli/main.ts";
import { createPasswordReader, PasswordAborted, PasswordInputError } from "../src/cli/password.ts";
import { formatTimestamp, type UserRecord } from "../src/domain/records.ts";
import { createMemoryDriver } from "../src/storage/memory/index.ts";
import type { StorageDriver } from "../src/storage/driver.ts";
import { createKvDriver } from "../src/storage/kv/index.ts";
import { openKvStore } from "../src/storage/kv/open.ts";
import { BOB, pyDump, writeOriginalDataFolder } from "./helpers/seed-folder.ts";
import { cliCommand, ROOT, RUNTIME, runToEnd, scratchDir, startServer } from "./helpers/server.ts";
import { testApp } from "./helpers/app.ts";

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;
const dirs: string[] = [];
const keep = (d: string): string => (dirs.push(d), d);
const tempDir = (): string => keep(mkdtempSync(join(tmpdir(), "cli-test-")));
const seedFolder = (): string => keep(writeOriginalDataFolder());
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * Runs CLI commands in-process: `passwords` feed readPassword, `driver`
 * (a shared memory store) replaces opening the configured storage, the
 * clock is settable and PBKDF2 is cheap.
 */
/** A KV store in memory that the CLI's close leaves open, for the test to look into afterwards. */
async function kvKeptOpen(): Promise<StorageDriver> {
  const kv = createKvDriver(await openKvStore(":memory:", { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined }), { now: Date.now });
  after(() => kv.close());
  return Object.assign(Object.create(kv), { close: () => Promise.resolve() });
}

function cli(env: Record<string, string>, driver?: StorageDriver) {
  // Relative paths resolve against a scratch folder, never the checkout (which may hold a user's data files).
  const h = { passwords: [] as string[], clock: Date.UTC(2024, 4, 1), cwd: scratchDir() };
  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const readPassword = () => {
      const p = h.passwords.shift();
      return p === undefined ? Promise.reject(new PasswordInputError("no password on stdin")) : Promise.resolve(p);
    };
    const code = await runCli(argv, {
      io: { out: (t) => out.push(t), err: (t) => err.push(t), readPassword },
      env: { LOG_LEVEL: "warn", ...env },
      cwd: h.cwd,
      pid: process.pid,
      openDriver: driver ? () => Promise.resolve(driver) : undefined,
      now: () => h.clock,
      hasher: createPasswordHasher({ iterations: 1000 }),
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  return Object.assign(h, { run });
}

describe("cli: arguments", () => {
  it("parses every command and refuses what it does not know", () => {
    assert.deepEqual(parseArgs(["user", "add", "a@b.io", "--first-name", "A", "--last-name=B"]), {
      name: "user-add",
      email: "a@b.io",
      firstName: "A",
      lastName: "B",
      admin: false,
    });
    assert.equal((parseArgs(["user", "add", "a@b.io", "--admin"]) as { admin: boolean }).admin, true);
    assert.deepEqual(parseArgs(["user", "admin", "a@b.io"]), { name: "user-admin", who: "a@b.io", revoke: false });
    assert.deepEqual(parseArgs(["user", "admin", "--revoke", "a@b.io"]), { name: "user-admin", who: "a@b.io", revoke: true });
    assert.deepEqual(parseArgs(["user", "list", "--json"]), { name: "user-list", json: true });
    assert.deepEqual(parseArgs(["export", "out", "--force"]), { name: "export", folder: "out", force: true });
    assert.deepEqual(parseArgs(["user", "delete", "--", "-odd@x.io"]), { name: "user-delete", who: "-odd@x.io" });
    assert.deepEqual(parseArgs(["user", "add", "--help"]), { name: "help" });
    assert.deepEqual(parseArgs(["user", "unlock", "a@b.io"]), { name: "user-unlock", email: "a@b.io" });
    assert.deepEqual(parseArgs(["sessions", "list", "a@b.io", "--json"]), { name: "sessions-list", who: "a@b.io", json: true });
    assert.deepEqual(parseArgs(["sessions", "end", "a@b.io", "s-1"]), { name: "sessions-end", who: "a@b.io", session: "s-1" });
    assert.deepEqual(parseArgs(["sessions", "end", "--all", "a@b.io"]), { name: "sessions-end", who: "a@b.io", session: null });
    for (
      const bad of [
        [],
        ["frob"],
        ["user"],
        ["user", "add"],
        ["user", "add", ""],
        ["user", "add", "a@b", "--nope"],
        ["user", "add", "a@b", "-p", "x"],
        ["user", "add", "a@b", "--first-name"],
        ["user", "list", "x"],
        ["import"],
        ["export", "a", "b"],
        ["export", "a", "--force=yes"],
        ["user", "unlock"],
        ["user", "admin"],
        ["user", "admin", "a@b.io", "--admin"],
        ["user", "add", "a@b.io", "--admin=yes"],
        ["sessions"],
        ["sessions", "list"],
        ["sessions", "end", "a@b.io"],
        ["sessions", "end", "a@b.io", "s-1", "--all"],
        ["sessions", "kill", "a@b.io"],
        ["migrate"],
        ["migrate", "--to", "redis"],
        ["migrate", "--to", "file"],
        ["migrate", "--to", "file", "--kv-path", "x.kv"],
        ["migrate", "--to", "kv", "--kv-path", "x.kv", "--folder", "f"],
        ["migrate", "--to", "postgres", "--database-url"],
        ["migrate", "--to", "postgres", "postgres://a@h/d"],
      ]
    ) {
      assert.throws(() => parseArgs(bad), UsageError, JSON.stringify(bad));
    }
  });

  it("parses migrate: --to and the one flag saying where that storage is", () => {
    assert.deepEqual(parseArgs(["migrate", "--to", "file", "--folder", "out"]), {
      name: "migrate",
      to: { storage: "file", folder: "out" },
    });
    assert.deepEqual(parseArgs(["migrate", "--to=kv", "--kv-path=a.kv"]), { name: "migrate", to: { storage: "kv", kvPath: "a.kv" } });
    assert.deepEqual(parseArgs(["migrate", "--database-url", "postgres://a@h/d", "--to", "postgres"]), {
      name: "migrate",
      to: { storage: "postgres", databaseUrl: "postgres://a@h/d" },
    });
  });

  it("migrate refuses a database URL with a password, and a target that is the source, before opening anything", async () => {
    const kvPath = join(tempDir(), "never-created.kv");
    const c = cli({ STORAGE: "kv", KV_PATH: kvPath });
    const withPassword = await c.run("migrate", "--to", "postgres", "--database-url", "postgres://app:s3cret@db/auth");
    assert.equal(withPassword.code, 1);
    assert.match(withPassword.err, /must not hold a password.*PGPASSWORD/);
    const same = await c.run("migrate", "--to", "kv", "--kv-path", kvPath);
    assert.equal(same.code, 1);
    assert.match(same.err, /the target is the configured storage itself/);
    assert.equal(existsSync(kvPath), false);
  });
});

describe("cli: password reader", () => {
  const term = (chunks: string[], isTerminal: boolean) => {
    const t = { raw: [] as boolean[], written: "" };
    const read = () => Promise.resolve(chunks.length ? new TextEncoder().encode(chunks.shift()) : null);
    return Object.assign(t, {
      read: createPasswordReader({ isTerminal, read, setRaw: (on) => void t.raw.push(on), write: (s) => void (t.written += s) }),
    });
  };

  it("takes the first line of piped stdin, without its line ending", async () => {
    assert.equal(await term(["pass wörd\r\nsecond line\n"], false).read(true), "pass wörd");
    assert.equal(await term(["no", "-newline"], false).read(false), "no-newline");
    await assert.rejects(term([], false).read(true), PasswordInputError);
    await assert.rejects(term(["\nx\n"], false).read(true), PasswordInputError);
  });

  it("prompts twice in raw mode, with line editing, and restores the terminal", async () => {
    const t = term(["se", "cx\x7fret\rse", "cret\r"], true);
    assert.equal(await t.read(true), "secret");
    assert.deepEqual(t.raw, [true, false, true, false]);
    assert.equal(t.written, "Password: \nRepeat password: \n");
    await assert.rejects(term(["a\rb\r"], true).read(true), /do not match/);
    await assert.rejects(term(["ab\x03"], true).read(true), PasswordAborted);
    assert.equal(await term(["\xe9\x7f", "ok\r"], true).read(false), "ok", "backspace removes a whole multi-byte character");
  });
});

describe("cli: user commands (memory driver, in-process)", () => {
  // A memory driver is injected; the configured storage is only named.
  const env = { STORAGE: "kv", DATA_DIR: tempDir() };

  it("prints usage: on help (stdout, 0) and on bad arguments (stderr, 2)", async () => {
    const c = cli(env, createMemoryDriver());
    const help = await c.run("--help");
    assert.deepEqual([help.code, help.out.split("\n")[0]], [0, "Usage: cli <command> [options]"]);
    for (const argv of [["frob"], ["user", "add"], ["user", "list", "--nope"]]) {
      const r = await c.run(...argv);
      assert.deepEqual([r.code, r.out], [2, ""]);
      assert.match(r.err, /^error: .*\n\nUsage: /s);
    }
    // A forgotten session id names the flag that ends them all, rather than guessing.
    const end = await c.run("sessions", "end", "bob@hbtn.io");
    assert.equal(end.code, 2);
    assert.match(end.err, /^error: "sessions end" needs <session-id> \(see "sessions list bob@hbtn\.io"\) or --all to end every session/);
  });

  it("finds a user by an email typed in another Unicode normal form", async () => {
    const driver = createMemoryDriver();
    const c = cli(env, driver);
    c.passwords.push("H0lbertonSchool98!");
    assert.equal((await c.run("user", "add", "jos\u00e9@hbtn.io")).code, 0);
    c.passwords.push("An0ther-Passw0rd!");
    const nfd = await c.run("user", "passwd", "jose\u0301@hbtn.io");
    assert.equal(nfd.code, 0, nfd.err);
    const user = (await driver.findUserByEmail("jos\u00e9@hbtn.io"))!;
    assert.ok((await verifyPassword("An0ther-Passw0rd!", user._password)).ok);
  });

  it("adds users under the API's rules and lists them", async () => {
    const driver = createMemoryDriver();
    const c = cli(env, driver);
    // An empty store says so (on stderr: a script reading the list still gets an empty one).
    const empty = await c.run("user", "list");
    assert.deepEqual([empty.code, empty.out, empty.err], [0, "", "no users in memory storage at process memory"]);
    c.passwords.push("H0lbertonSchool98!");
    const added = await c.run("user", "add", "bob@hbtn.io", "--first-name", "Bob", "--last-name", "Tab\tby");
    const bob = (await driver.findUserByEmail("bob@hbtn.io"))!;
    assert.deepEqual([added.code, added.out], [0, `created user ${bob.id} <bob@hbtn.io>`]);
    assert.ok((await verifyPassword("H0lbertonSchool98!", bob._password)).ok);
    c.passwords.push("another-pass");
    assert.match((await c.run("user", "add", "BOB@hbtn.io")).err, /^error: Can't create User: email already exists$/);
    c.passwords.push("iloveyou");
    const common = await c.run("user", "add", "carl@hbtn.io");
    assert.deepEqual([common.code, common.err], [1, "error: Can't create User: password is too common (one of the 10,000 most used)"]);
    c.passwords.push("short");
    const short = await c.run("user", "add", "carl@hbtn.io");
    assert.deepEqual([short.code, short.err], [1, "error: Can't create User: password is shorter than 8 characters"]);
    const none = await c.run("user", "add", "carl@hbtn.io");
    assert.deepEqual([none.code, none.err], [1, "error: no password on stdin"]);
    const lenient = cli({ ...env, PASSWORD_MIN_LENGTH: "4" }, driver);
    lenient.passwords.push("x7q!");
    assert.equal((await lenient.run("user", "add", "carl@hbtn.io")).code, 0, "PASSWORD_MIN_LENGTH applies");
    const list = await c.run("user", "list");
    assert.equal(list.out.split("\n")[0], `${bob.id}\tbob@hbtn.io\tBob\tTab\\tby\t2024-05-01T00:00:00`);
    assert.deepEqual(JSON.parse((await c.run("user", "list", "--json")).out.split("\n")[0]), {
      created_at: "2024-05-01T00:00:00",
      email: "bob@hbtn.io",
      first_name: "Bob",
      id: bob.id,
      last_name: "Tab\tby",
      updated_at: "2024-05-01T00:00:00",
    });
  });

  it("changes a password (updated_at refreshed) and deletes users with their sessions", async () => {
    const driver = createMemoryDriver();
    const c = cli({ ...env, PASSWORD_MIN_LENGTH: "4" }, driver);
    c.passwords.push("fir5t!", "sec0nd");
    await c.run("user", "add", "ann@hbtn.io");
    c.clock += 60_000;
    const changed = await c.run("user", "passwd", "ann@hbtn.io");
    assert.equal(changed.code, 0, changed.err);
    const ann = (await driver.findUserByEmail("ann@hbtn.io"))!;
    assert.equal(ann.updated_at, formatTimestamp(c.clock));
    assert.ok((await verifyPassword("sec0nd", ann._password)).ok);
    c.passwords.push("no");
    assert.equal((await c.run("user", "passwd", ann.id)).err, "error: Can't change the password: password is shorter than 4 characters");
    c.passwords.push("whatever");
    assert.equal((await c.run("user", "passwd", "nobody@hbtn.io")).err, `error: no user with the id or email "nobody@hbtn.io"`);
    await driver.createSession({
      id: "s1",
      created_at: ann.created_at,
      updated_at: ann.created_at,
      user_id: ann.id,
      session_id: "a".repeat(64),
    }, null);
    const deleted = await c.run("user", "delete", "ann@hbtn.io");
    assert.deepEqual([deleted.code, deleted.out], [0, `deleted user ${ann.id} <ann@hbtn.io>`]);
    assert.equal(await driver.getSession("a".repeat(64)), null);
    assert.equal((await c.run("user", "delete", ann.id)).code, 1);
  });

  it("user add and passwd obey the look-alike email and password form rules; emails are stored in NFC", async () => {
    const driver = createMemoryDriver();
    const c = cli(env, driver);
    c.passwords.push("correct-Horse-9");
    const twin = await c.run("user", "add", "adm\u0456n@hbtn.io");
    assert.deepEqual([twin.code, twin.err], [
      1,
      "error: Can't create User: email mixes Latin with Cyrillic or Greek letters in one part (a look-alike of another address)",
    ]);
    c.passwords.push("correct-Horse-9");
    assert.match(
      (await c.run("user", "add", "admin@hbtn.io ")).err,
      /^error: Can't create User: email has leading or trailing whitespace$/,
    );
    c.passwords.push("abcdefghij");
    assert.match((await c.run("user", "add", "ann@hbtn.io")).err, /^error: Can't create User: password is a sequence/);
    c.passwords.push("correct-Horse-9");
    assert.equal((await c.run("user", "add", "rene\u0301@hbtn.io")).code, 0);
    assert.equal((await driver.listUsers())[0].email, "ren\u00e9@hbtn.io");
    c.passwords.push("xyzxyzxyzxyz");
    const repeated = await c.run("user", "passwd", "ren\u00e9@hbtn.io");
    assert.match(repeated.err, /^error: Can't change the password: password repeats one character or a short block/);
    c.passwords.push("session-Kite-77");
    assert.match((await c.run("user", "passwd", "ren\u00e9@hbtn.io")).err, /password contains the service's name$/);
    assert.equal(await driver.countUsers(), 1);
  });

  it("on an empty store, takes in DATA_DIR's data files first, as the server does; a duplicated email needs an id", async () => {
    // A KV store (memory storage starts empty: it takes in nothing).
    const driver = await kvKeptOpen();
    const c = cli({ STORAGE: "kv", DATA_DIR: seedFolder(), LOG_LEVEL: "info" }, driver);
    const list = await c.run("user", "list");
    assert.deepEqual(list.out.split("\n").map((l) => l.split("\t")[0]), [BOB.id, "u-null", "u-dup", "u-empty"]);
    assert.match(list.err, /imported the data files of .* 4 users, 1 session/);
    const ambiguous = await c.run("user", "delete", BOB.email);
    assert.equal(
      ambiguous.err.split("\n").at(-1),
      `error: 2 users have the email "${BOB.email}" (ids: ${BOB.id}, u-dup); name one by its id`,
    );
    assert.equal((await c.run("user", "delete", "u-dup")).code, 0);
  });
});

describe("cli: sessions and unlock (in-process, beside an app on the same Deno KV file)", () => {
  const opened: StorageDriver[] = [];
  after(() => Promise.all(opened.map((d) => d.close())));
  async function setUp() {
    const path = join(tempDir(), "shared.kv");
    const kv = createKvDriver(await openKvStore(path, { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined }), { now: Date.now });
    const env = { AUTH_TYPE: "session_db_auth", STORAGE: "kv", KV_PATH: path, TRUST_PROXY: "true", SESSION_DURATION: "3600" };
    const t = testApp({ env, driver: kv });
    const bob = await t.seed("bob@hbtn.io", "correct-Horse-9");
    const login = async (agent: string, ip: string) => {
      const r = await t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: "correct-Horse-9" }, {
        "User-Agent": agent,
        "X-Forwarded-For": ip,
      });
      assert.equal(r.status, 200);
      return r.headers.getSetCookie()[0].split(";")[0];
    };
    // The CLI opens the KV file itself, as it does beside a running server.
    opened.push(kv);
    return { t, kv, bob, login, c: cli(env) };
  }

  it("lists a user's live sessions (tab-separated or JSON lines) and ends one, or all", async () => {
    const { t, bob, login, c } = await setUp();
    const laptop = await login("Laptop\tBrowser", "198.51.100.1");
    const phone = await login("Phone", "198.51.100.2");
    const list = await c.run("sessions", "list", "bob@hbtn.io");
    assert.equal(list.code, 0, list.err);
    const rows = list.out.split("\n").map((l) => l.split("\t"));
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => r.slice(4)).sort(), [["198.51.100.1", "Laptop\\tBrowser"], ["198.51.100.2", "Phone"]]);
    assert.match(list.err, /^2 live sessions of user [0-9a-f-]{36} <bob@hbtn\.io>$/);
    const json = (await c.run("sessions", "list", bob.id, "--json")).out.split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(Object.keys(json[0]), ["id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent"]);
    assert.ok(json[0].expires_at, "SESSION_DURATION gives an end");
    const phoneId = json.find((s) => s.user_agent === "Phone")!.id;
    for (const s of json) for (const cookie of [laptop, phone]) assert.ok(!JSON.stringify(s).includes(cookie.split("=")[1]));

    const ended = await c.run("sessions", "end", "bob@hbtn.io", phoneId);
    assert.deepEqual([ended.code, ended.out], [0, `ended session ${phoneId} of user ${bob.id} <bob@hbtn.io>`]);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: phone } })).status, 403);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: laptop } })).status, 200);
    const again = await c.run("sessions", "end", "bob@hbtn.io", phoneId);
    assert.deepEqual([again.code, again.err], [
      1,
      `error: user ${bob.id} <bob@hbtn.io> has no live session "${phoneId}" (see "sessions list bob@hbtn.io")`,
    ]);
    await login("Tablet", "198.51.100.3");
    assert.equal((await c.run("sessions", "end", "bob@hbtn.io", "--all")).out, `ended 2 sessions of user ${bob.id} <bob@hbtn.io>`);
    assert.equal((await t.request("/api/v1/users/me", { headers: { Cookie: laptop } })).status, 403);
    const none = await c.run("sessions", "list", "bob@hbtn.io");
    assert.deepEqual([none.code, none.out, none.err], [0, "", `0 live sessions of user ${bob.id} <bob@hbtn.io>`]);
    assert.match((await c.run("sessions", "list", "nobody@hbtn.io")).err, /^error: no user with the id or email "nobody@hbtn\.io"$/);
  });

  it("user unlock clears an account's failed-login counters in the storage", async () => {
    const { t, c } = await setUp();
    const guess = (i: number) =>
      t.form("/api/v1/auth_session/login", { email: "bob@hbtn.io", password: `guess-${i}-x` }, { "X-Forwarded-For": "203.0.113.1" });
    for (let i = 0; i < 20; i++) assert.equal((await guess(i)).status, 401);
    assert.equal((await guess(20)).status, 429);
    const r = await c.run("user", "unlock", "BOB@hbtn.io");
    assert.deepEqual([r.code, r.out], [0, "cleared the failed-login counters of BOB@hbtn.io"]);
    assert.equal((await guess(21)).status, 401, "checked again");
    assert.equal((await c.run("user", "unlock", "ann@hbtn.io")).out, "no failed logins recorded for ann@hbtn.io: nothing to clear");
    // Memory and file storage keep the counters in the server process: said so, not faked.
    const file = await cli({ STORAGE: "file", DATA_DIR: tempDir() }).run("user", "unlock", "bob@hbtn.io");
    assert.equal(file.code, 1);
    assert.match(file.err, /^error: file storage keeps failed-login counters in the server's memory/);
  });
});

describe("cli: import and export (memory driver, in-process)", () => {
  // A memory driver is injected; the configured storage is only named.
  const env = { STORAGE: "kv", DATA_DIR: tempDir() };

  it("imports the original's folder keeping ids, timestamps and hashes; a second import skips everything", async () => {
    const driver = createMemoryDriver();
    const c = cli(env, driver);
    const seed = seedFolder();
    const first = await c.run("import", seed);
    assert.deepEqual([first.code, first.out], [0, "imported 4 users, 0 skipped\nimported 1 session, 0 skipped"]);
    assert.match(first.err, /^reading \/.*\/\.db_User\.json \(4 users\) and \/.*\/\.db_UserSession\.json \(1 session\)$/);
    const bob = (await driver.getUser(BOB.id))!;
    assert.equal(bob.updated_at, "2024-03-02T11:30:00");
    assert.ok((await verifyPassword(BOB.password, bob._password)).ok, "legacy SHA-256 hash kept");
    assert.equal((await c.run("import", seed)).out, "imported 0 users, 4 skipped\nimported 0 sessions, 1 skipped");
  });

  it("imports only the folder it names: the data files of DATA_DIR are not taken in on the way", async () => {
    const dataDir = tempDir();
    // DATA_DIR holds data files of its own (a user who followed the README there, say).
    writeOriginalDataFolder(dataDir);
    const other = { ...BOB, id: "0d5c1f3e-7a6b-4c2d-9e8f-1a2b3c4d5e6f", email: "carol@hbtn.io" };
    const named = tempDir();
    writeFileSync(join(named, ".db_User.json"), JSON.stringify({ [other.id]: { id: other.id, email: other.email, _password: null } }));
    // A KV store: an empty one takes in DATA_DIR's files on a first start, which an import must not do.
    const driver = await kvKeptOpen();
    const r = await cli({ STORAGE: "kv", DATA_DIR: dataDir }, driver).run("import", named);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "imported 1 user, 0 skipped\nimported 0 sessions, 0 skipped");
    assert.deepEqual((await driver.listUsers()).map((u) => u.email), ["carol@hbtn.io"]);
    assert.doesNotMatch(r.err, /imported the data files of/);
  });

  it("refuses a missing folder, a folder without data files, and an unparsable file (left untouched)", async () => {
    const c = cli(env, createMemoryDriver());
    assert.match((await c.run("import", join(tempDir(), "nope"))).err, /^error: folder .*nope does not exist$/);
    assert.match((await c.run("import", tempDir())).err, /^error: .* holds no data files of the original/);
    const bad = tempDir();
    writeFileSync(join(bad, ".db_User.json"), '{"u1": {"id": "u1",');
    const r = await c.run("import", bad);
    assert.match(`${r.code} ${r.err}`, /^1 error: Cannot parse .*\.db_User\.json.*the file was left untouched$/);
    assert.equal(readFileSync(join(bad, ".db_User.json"), "utf8"), '{"u1": {"id": "u1",');
  });

  it("reports progress every tenth of a large import into Deno KV, then the summary", async () => {
    const big = tempDir();
    const users: Record<string, Partial<UserRecord>> = {};
    for (let i = 0; i < 20_001; i++) users[`u${i}`] = { id: `u${i}`, email: `u${i}@x.io`, _password: null };
    writeFileSync(join(big, ".db_User.json"), pyDump(users));
    const kv = createKvDriver(await openKvStore(":memory:", { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined }), { now: Date.now });
    const r = await cli(env, kv).run("import", big);
    const [read, ...lines] = r.err.split("\n");
    assert.match(read, /^reading .*\.db_User\.json \(20001 users\) and .*\.db_UserSession\.json \(0 sessions\)$/);
    assert.equal(lines.length, 10, r.err);
    assert.match(lines[0], new RegExp(`^importing ${big} into kv storage: [\\d,]+/20,001 users \\(10%\\)$`));
    assert.match(lines[9], /: 20,001\/20,001 users \(100%\)$/);
    assert.equal(r.out, "imported 20001 users, 0 skipped\nimported 0 sessions, 0 skipped");
  });

  it("never creates an email the store already holds: such records and their sessions are skipped and counted", async () => {
    const driver = createMemoryDriver();
    const c = cli(env, driver);
    c.passwords.push("another-password");
    await c.run("user", "add", "BOB@hbtn.io");
    const r = await c.run("import", seedFolder());
    // Both of the folder's Bob records (a legacy duplicate pair) meet the store's own bob.
    assert.deepEqual([r.code, r.out], [0, "imported 2 users, 2 skipped\nimported 0 sessions, 1 skipped"]);
    assert.deepEqual((await driver.listUsers()).map((u) => u.email), ["BOB@hbtn.io", "nopass@hbtn.io", ""]);
    // Within one source, legacy duplicates stay (a folder of the original loads as it is).
    const fresh = createMemoryDriver();
    assert.equal((await cli(env, fresh).run("import", seedFolder())).out, "imported 4 users, 0 skipped\nimported 1 session, 0 skipped");
  });

  it("refuses STORAGE=memory (it would keep nothing) and an export target that is a file, in one line", async () => {
    const memory = await cli({ STORAGE: "memory" }).run("user", "list");
    assert.deepEqual([memory.code, memory.err], [
      1,
      "error: STORAGE=memory keeps nothing once the command ends; use the storage your server uses (file, kv or postgres)",
    ]);
    const file = join(tempDir(), "passwd");
    writeFileSync(file, "root:x:0:0\n");
    const r = await cli(env, createMemoryDriver()).run("export", file);
    assert.deepEqual([r.code, r.err], [
      1,
      `error: ${file} is not a folder; export writes .db_User.json and .db_UserSession.json into a folder`,
    ]);
    assert.equal(readFileSync(file, "utf8"), "root:x:0:0\n");
  });

  it("exports users in the original's format, refuses to overwrite without --force, and round-trips", async () => {
    const driver = createMemoryDriver();
    const c = cli(env, driver);
    await c.run("import", seedFolder());
    const out = join(tempDir(), "export");
    const r = await c.run("export", out);
    assert.deepEqual([r.code, r.out], [0, "exported 4 users, 1 session"]);
    assert.match(`${(await c.run("export", out)).code} ${(await c.run("export", out)).err}`, /^1 error: .* already exists; use --force/);
    assert.equal((await c.run("export", out, "--force")).code, 0);
    const fresh = createMemoryDriver();
    assert.equal((await cli(env, fresh).run("import", out)).out, "imported 4 users, 0 skipped\nimported 1 session, 0 skipped");
    assert.deepEqual(await fresh.listSessions(), await driver.listSessions());
    assert.deepEqual(await fresh.listUsers(), await driver.listUsers());
  });
});

describe("cli: file storage (in-process)", () => {
  it("persists between runs, knows its own data folder, and refuses a folder locked by a server", async () => {
    const dir = tempDir();
    const c = cli({ STORAGE: "file", DATA_DIR: dir });
    c.passwords.push("password-1");
    assert.equal((await c.run("user", "add", "ann@hbtn.io")).code, 0);
    assert.match((await c.run("user", "list")).out, /\tann@hbtn\.io\t/);
    assert.ok(!existsSync(join(dir, ".db_lock")), "the lock is released at exit");
    assert.match((await c.run("import", dir)).out, /is already the data folder .*nothing to do$/);
    assert.match((await c.run("export", dir)).err, /is the data folder of the file storage/);
    const seed = seedFolder();
    assert.equal((await c.run("import", seed)).out, "imported 4 users, 0 skipped\nimported 1 session, 0 skipped");
    assert.equal((await c.run("import", seed)).out, "imported 0 users, 4 skipped\nimported 0 sessions, 1 skipped");
    const { openFileDriver } = await import("../src/storage/file/index.ts");
    const server = await openFileDriver({ dir, pid: process.pid });
    try {
      // Reads work beside the holder, and see what it has written (journal included).
      await server.createUser({ ...(await server.listUsers())[0], id: "beside", email: "beside@hbtn.io" });
      const list = await c.run("user", "list");
      assert.equal(list.code, 0, list.err);
      assert.match(list.out, /^beside\tbeside@hbtn\.io\t/m);
      c.passwords.push("password-2");
      const add = await c.run("user", "add", "carl@hbtn.io");
      assert.match(
        `${add.code} ${add.err}`,
        /^1 error: Data folder .* is in use by process \d+ on .*; stop it to change users from the CLI, or use the API/,
      );
    } finally {
      await server.close();
    }
    assert.equal((await c.run("user", "list")).out.split("\n").length, 6);
  });
});

describe(`cli: real processes on ${RUNTIME}`, () => {
  const run = (env: Record<string, string>, args: string[], input?: string) => runToEnd(...cliCommand(args), env, 30_000, input);

  it("adds a user with the password on stdin, lists it, and exits 2 on bad arguments", async () => {
    const env = { STORAGE: "file", DATA_DIR: tempDir() };
    const added = await run(env, ["user", "add", BOB.email, "--first-name", "Bob"], `${BOB.password}\n`);
    assert.match(`${added.code} ${added.stdout}`, /^0 created user [0-9a-f-]{36} <bob@hbtn\.io>\n$/, added.stderr);
    const list = await run(env, ["user", "list", "--json"]);
    const user = JSON.parse(list.stdout) as Record<string, string>;
    assert.deepEqual([list.code, user.email, user.first_name], [0, BOB.email, "Bob"]);
    const bad = await run(env, ["user", "frob"]);
    assert.match(`${bad.code} ${bad.stderr}`, /^2 [\s\S]*unknown command "user frob"[\s\S]*Usage: /);
  });

  it("beside a running server on Deno KV: unlocks a throttled account, lists and ends its sessions", async () => {
    const env = { STORAGE: "kv", KV_PATH: join(tempDir(), "live.kv"), AUTH_TYPE: "session_db_auth" };
    const server = await startServer(env);
    try {
      const added = await run(env, ["user", "add", BOB.email], `${BOB.password}\n`);
      assert.equal(added.code, 0, added.stderr);
      const login = (password: string) =>
        fetch(`${server.url}/api/v1/auth_session/login`, { method: "POST", body: new URLSearchParams({ email: BOB.email, password }) });
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) statuses.push((await login(`guess-${i}-x`)).status);
      assert.deepEqual(statuses, [...Array(20).fill(401), 429]);
      assert.equal((await login(BOB.password)).status, 429);
      const unlocked = await run(env, ["user", "unlock", BOB.email]);
      assert.deepEqual([unlocked.code, unlocked.stdout], [0, `cleared the failed-login counters of ${BOB.email}\n`], unlocked.stderr);
      const ok = await login(BOB.password);
      assert.equal(ok.status, 200, "the server sees the cleared counters at once");
      const cookie = ok.headers.getSetCookie()[0].split(";")[0];
      const list = await run(env, ["sessions", "list", BOB.email, "--json"]);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout.trim().split("\n").length, 1);
      assert.equal(JSON.parse(list.stdout).ip, "127.0.0.1");
      const ended = await run(env, ["sessions", "end", BOB.email, "--all"]);
      assert.match(ended.stdout, /^ended 1 session of user /, ended.stderr);
      assert.equal((await fetch(`${server.url}/api/v1/users/me`, { headers: { Cookie: cookie } })).status, 403);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it("--version prints the package's name and version, and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
    const r = await run({}, ["--version"]);
    assert.deepEqual([r.code, r.stdout], [0, `${pkg.name} ${pkg.version}\n`], r.stderr);
  });

  it("imports an original data folder once, then skips it; exports it back", async () => {
    const env = { STORAGE: "file", DATA_DIR: tempDir() };
    const seed = seedFolder();
    const first = await run(env, ["import", seed]);
    assert.equal(first.stdout, "imported 4 users, 0 skipped\nimported 1 session, 0 skipped\n", first.stderr);
    const again = await run(env, ["import", seed]);
    assert.equal(again.stdout, "imported 0 users, 4 skipped\nimported 0 sessions, 1 skipped\n", again.stderr);
    const out = tempDir();
    const exported = await run(env, ["export", out]);
    assert.match(`${exported.code} ${exported.stdout}`, /^0 exported 4 users, /, exported.stderr);
    const parse = (d: string) => JSON.parse(readFileSync(join(d, ".db_User.json"), "utf8")) as unknown;
    assert.deepEqual(parse(out), parse(seed));
  });
});
