import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { DuplicateEmailError, StartupError, StorageUnavailableError } from "../src/domain/errors.ts";
import { createKvDriver, type KvLike } from "../src/storage/kv/index.ts";
import { openKvStore } from "../src/storage/kv/open.ts";
import { makeSession, makeUser, runDriverContract } from "./helpers/driver-contract.ts";
import { runAccountContract } from "./helpers/account-contract.ts";
import { ROOT, RUNTIME, tsCommand } from "./helpers/server.ts";

const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;
const openKv = (path: string) => openKvStore(path, { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined });
const SLOW = { timeout: 120_000 };

runDriverContract("kv", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kv-contract-"));
  // A clock the contract can move: an import's heartbeat goes stale without waiting for it.
  let offset = 0;
  const now = () => Date.now() + offset;
  const open = async () => createKvDriver(await openKv(join(dir, "test.kv")), { now });
  return {
    driver: await open(),
    reopen: open,
    cleanup: () => rm(dir, { recursive: true, force: true }),
    advanceClock: (ms: number) => void (offset += ms),
  };
});
runAccountContract("kv", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kv-accounts-"));
  const open = async () => createKvDriver(await openKv(join(dir, "test.kv")), { now: Date.now });
  // second: another instance on the same file, as another process would open it.
  return { driver: await open(), reopen: open, second: open, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("kv driver", () => {
  let dir: string;
  let n = 0;
  const freshPath = () => join(dir, `db-${++n}.kv`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kv-driver-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("stores values as UTF-8 JSON bytes", async () => {
    const kv = await openKv(freshPath());
    const d = createKvDriver(kv, { now: Date.now });
    const u = makeUser({ first_name: "Zoë" });
    await d.createUser(u);
    const raw = await kv.get(["users", u.id]);
    assert.ok(raw.value instanceof Uint8Array);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(raw.value)).user, u);
    await d.close();
  });

  it("of concurrent creates of one email on two instances over one file, exactly one wins", async () => {
    const path = freshPath();
    const [a, b] = [createKvDriver(await openKv(path), { now: Date.now }), createKvDriver(await openKv(path), { now: Date.now })];
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).createUser(makeUser({ email: i % 3 ? "race@kv.test" : "RACE@kv.test" }))),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof DuplicateEmailError, String(r.reason));
    // Different emails all succeed, each with its own place in storage order.
    const others = Array.from({ length: 10 }, () => makeUser());
    await Promise.all(others.map((u, i) => (i % 2 ? a : b).createUser(u)));
    assert.equal(await b.countUsers(), 11);
    const ids = (await a.listUsers()).map((u) => u.id);
    assert.equal(ids.length, 11);
    assert.deepEqual(new Set(ids.slice(1)), new Set(others.map((u) => u.id)));
    await a.close();
    await b.close();
  });

  it("answers a session's user from memory for at most userCacheMs, the session itself always fresh", async () => {
    const path = freshPath();
    let now = Date.UTC(2025, 0, 1);
    const clock = () => now;
    const [a, b] = [
      createKvDriver(await openKv(path), { now: clock, userCacheMs: 1000 }),
      createKvDriver(await openKv(path), { now: clock }),
    ];
    const u = makeUser({ first_name: "Old" });
    await a.createUser(u);
    const s = makeSession(u.id);
    await a.createSession(s, null);
    assert.equal((await a.getSessionAndUser(s.session_id, u.id)).user?.first_name, "Old");
    // Renamed through another process: a may answer the old name for up to a second...
    await b.updateUser({ ...u, first_name: "New" });
    assert.equal((await a.getSessionAndUser(s.session_id, u.id)).user?.first_name, "Old");
    now += 1000;
    assert.equal((await a.getSessionAndUser(s.session_id, u.id)).user?.first_name, "New");
    // ...a rename through a itself shows at once...
    await a.updateUser({ ...u, first_name: "Mine" });
    assert.equal((await a.getSessionAndUser(s.session_id, u.id)).user?.first_name, "Mine");
    // ...and a logout or a deletion elsewhere is seen at once: the session is always read.
    await b.deleteUser(u.id);
    assert.deepEqual((await a.getSessionAndUser(s.session_id, u.id)).session, null);
    await a.close();
    await b.close();
  });

  it("checks session expiry on read, against the injected clock", async () => {
    let now = Date.parse("2025-01-01T00:00:00Z");
    const d = createKvDriver(await openKv(freshPath()), { now: () => now, sessionLifetime: { absolute: 60, idle: 0 } });
    const u = makeUser();
    await d.createUser(u);
    const [s, long, eternal] = [makeSession(u.id), makeSession(u.id), makeSession(u.id)];
    await d.createSession(s, now + 60_000);
    await d.createSession(long, now + 3600_000);
    await d.createSession(eternal, null);
    now += 60_000;
    assert.deepEqual(await d.getSession(s.session_id), s, "live through its last millisecond");
    now += 1;
    assert.equal(await d.getSession(s.session_id), null);
    assert.equal(await d.deleteSession(s.session_id), false);
    assert.deepEqual(await d.getSession(long.session_id), long);
    now += 10 * 365 * 86_400_000;
    assert.equal(await d.getSession(long.session_id), null);
    assert.deepEqual(await d.getSession(eternal.session_id), eternal);
    // Imported sessions expire counting from their created_at.
    const old = makeSession(u.id, { created_at: "2020-01-01T00:00:00" });
    const recent = makeSession(u.id, { created_at: new Date(now - 30_000).toISOString().slice(0, 19) });
    assert.deepEqual((await d.importRecords([], [old, recent])).sessions, { imported: 1, skipped: 1 });
    assert.deepEqual(await d.getSession(recent.session_id), recent);
    now += 30_000;
    assert.equal(await d.getSession(recent.session_id), null);
    await d.close();
  });

  it("keeps legacy duplicates, exact-match lookups and order across a reopen", async () => {
    const path = freshPath();
    let d = createKvDriver(await openKv(path), { now: Date.now });
    const [a, b, c] = [makeUser({ email: "Dup@kv.test" }), makeUser({ email: "dup@kv.test" }), makeUser({ email: null, _password: null })];
    await d.importRecords([a, b, c], []);
    const e = makeUser();
    await d.createUser(e);
    await d.close();
    d = createKvDriver(await openKv(path), { now: Date.now });
    assert.deepEqual((await d.listUsers()).map((u) => u.id), [a.id, b.id, c.id, e.id]);
    assert.equal((await d.findUserByEmail("dup@kv.test"))?.id, b.id);
    assert.equal((await d.findUserByEmail("Dup@kv.test"))?.id, a.id);
    await assert.rejects(d.createUser(makeUser({ email: "DUP@kv.test" })), DuplicateEmailError);
    assert.equal(await d.deleteUser(a.id), true);
    assert.equal((await d.findUserByEmail("dup@kv.test"))?.id, b.id);
    assert.equal(await d.deleteUser(b.id), true);
    await d.createUser(makeUser({ email: "DUP@kv.test" }));
    assert.equal(await d.countUsers(), 3);
    await d.close();
  });

  it("moves the email index when an update changes the email, keeping the order", async () => {
    const d = createKvDriver(await openKv(freshPath()), { now: Date.now });
    const [u, v] = [makeUser({ email: "old@kv.test" }), makeUser()];
    await d.createUser(u);
    await d.createUser(v);
    assert.equal(await d.updateUser({ ...u, email: "New@kv.test" }), true);
    assert.equal(await d.findUserByEmail("old@kv.test"), null);
    assert.equal((await d.findUserByEmail("New@kv.test"))?.id, u.id);
    await assert.rejects(d.createUser(makeUser({ email: "new@kv.test" })), DuplicateEmailError);
    await d.createUser(makeUser({ email: "old@kv.test" }));
    assert.deepEqual((await d.listUsers()).map((x) => x.id).slice(0, 2), [u.id, v.id]);
    await d.close();
  });

  it("handles very long emails and ids without a storage error", async () => {
    const d = createKvDriver(await openKv(freshPath()), { now: Date.now });
    const email = `${"x".repeat(3000)}@kv.test`;
    const u = makeUser({ email });
    await d.createUser(u);
    assert.equal((await d.findUserByEmail(email))?.id, u.id);
    await assert.rejects(d.createUser(makeUser({ email: email.toUpperCase() })), DuplicateEmailError);
    const longId = "i".repeat(5000);
    assert.equal(await d.getUser(longId), null);
    assert.equal(await d.updateUser(makeUser({ id: longId })), false);
    assert.equal(await d.deleteUser(longId), false);
    assert.equal(await d.getSession("h".repeat(5000)), null);
    await d.close();
  });

  it("imports 10k users in batches, in order, and a second import adds nothing", SLOW, async () => {
    const d = createKvDriver(await openKv(freshPath()), { now: Date.now });
    const users = Array.from({ length: 10_000 }, (_, i) => makeUser({ email: i % 1000 === 0 ? "legacy@kv.test" : undefined }));
    // A hang shows as the test's own timeout (SLOW); how long an import takes is not a test's to judge.
    assert.deepEqual((await d.importRecords(users, [])).users, { imported: 10_000, skipped: 0 });
    const last = makeUser();
    await d.createUser(last);
    assert.deepEqual((await d.importRecords([...users, last], [])).users, { imported: 0, skipped: 10_001 });
    assert.equal(await d.countUsers(), 10_001);
    assert.deepEqual((await d.listUsers()).map((u) => u.id), [...users.map((u) => u.id), last.id]);
    assert.equal((await d.findUserByEmail("legacy@kv.test"))?.id, users[0].id);
    await assert.rejects(d.createUser(makeUser({ email: "Legacy@kv.test" })), DuplicateEmailError);
    await d.close();
  });

  it("deletes a user with more sessions than one atomic operation holds", SLOW, async () => {
    const d = createKvDriver(await openKv(freshPath()), { now: Date.now });
    const [u, other] = [makeUser(), makeUser()];
    await d.importRecords([u, other], []);
    const sessions = Array.from({ length: 600 }, () => makeSession(u.id));
    const kept = makeSession(other.id);
    assert.deepEqual((await d.importRecords([], [...sessions, kept])).sessions, { imported: 601, skipped: 0 });
    assert.equal(await d.deleteUser(u.id), true);
    for (const s of sessions.filter((_, i) => i % 50 === 0)) assert.equal(await d.getSession(s.session_id), null);
    assert.deepEqual(await d.getSession(kept.session_id), kept);
    assert.equal(await d.countUsers(), 1);
    await d.close();
  });

  it("reports KV failures as StorageUnavailableError and writes nothing", async () => {
    const real = await openKv(freshPath());
    let [failReads, failCommits] = [false, false];
    const boom = () => Promise.reject(new Error("disk I/O error\nnative backtrace"));
    const flaky: KvLike = {
      get: (k) => (failReads ? boom() : real.get(k)),
      getMany: (k) => (failReads ? boom() : real.getMany(k)),
      set: (k, v) => real.set(k, v),
      delete: (k) => real.delete(k),
      list: (s, o) => real.list(s, o),
      atomic: () => Object.assign(real.atomic(), failCommits ? { commit: boom } : {}),
      close: () => real.close(),
    };
    const d = createKvDriver(flaky, { now: Date.now });
    const u = makeUser();
    failReads = true;
    const err = await d.getUser(u.id).catch((e) => e);
    assert.ok(err instanceof StorageUnavailableError);
    assert.equal(err.message, "Storage unavailable, try again later");
    assert.match(err.detail, /disk I\/O error$/);
    assert.ok(err.cause instanceof Error);
    // Reads work, the commit fails: neither the user nor its email entry is written.
    [failReads, failCommits] = [false, true];
    await assert.rejects(d.createUser(u), StorageUnavailableError);
    failCommits = false;
    assert.equal(await d.getUser(u.id), null);
    assert.equal(await d.findUserByEmail(u.email!), null);
    assert.equal(await d.countUsers(), 0);
    await d.close();
    await assert.rejects(d.getUser(u.id), StorageUnavailableError);
  });

  it("refuses unopenable targets with a StartupError naming the path", async () => {
    await assert.rejects(
      openKv(join(dir, "missing", "x.kv")),
      (e: Error) => e instanceof StartupError && /missing.*does not exist/.test(e.message),
    );
    await mkdir(join(dir, "a-folder"));
    await assert.rejects(openKv(join(dir, "a-folder")), (e: Error) => e instanceof StartupError && /a-folder.*is a folder/.test(e.message));
    const junk = join(dir, "junk.kv");
    await writeFile(junk, "this is not a database, just text that is long enough to fill a page header ".repeat(100));
    await assert.rejects(openKv(junk), (e: Error) => e instanceof StartupError && e.message.includes(junk) && !e.message.includes("\n"));
    await assert.rejects(openKv(""), StartupError);
  });

  for (const other of (["node", "deno", "bun"] as const).filter((r) => r !== RUNTIME)) {
    it(`shares one KV file with ${other}`, SLOW, async () => {
      const path = freshPath();
      const d = createKvDriver(await openKv(path), { now: Date.now });
      const [u, v] = [makeUser({ email: "Cross@kv.test", last_name: "Ñandú 日本" }), makeUser()];
      await d.createUser(u);
      const s = makeSession(u.id);
      await d.createSession(s, Date.now() + 3600_000);
      await d.close();
      const child = join(dir, `child-${other}-${n}.mts`); // .mts: ESM even outside a "type": "module" package
      const src = (f: string) => JSON.stringify(pathToFileURL(join(ROOT, "src/storage", f)).href);
      await writeFile(
        child,
        `import process from "node:process";
import { openKvStore } from ${src("kv/open.ts")};
import { createKvDriver } from ${src("kv/index.ts")};
const job = JSON.parse(process.env.KV_CHILD_JOB);
const deno = globalThis.Deno;
const d = createKvDriver(await openKvStore(job.path, { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined }), { now: Date.now });
const out = { user: await d.getUser(job.u.id), found: (await d.findUserByEmail(job.u.email))?.id, session: await d.getSession(job.s.session_id) };
await d.createUser(job.v);
await d.close();
console.log(JSON.stringify(out));
`,
      );
      const [bin, args] = tsCommand(child, other);
      if (other === "deno") args.splice(1, 0, "--unstable-kv", "--config", join(ROOT, "deno.json"));
      const stdout = await new Promise<string>((res, rej) =>
        execFile(
          bin,
          args,
          { cwd: ROOT, env: { ...process.env, KV_CHILD_JOB: JSON.stringify({ path, u, v, s }) } },
          (err, out, errOut) => err ? rej(new Error(`${other} child failed: ${errOut || err.message}`)) : res(out),
        )
      );
      assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!), { user: u, found: u.id, session: s });
      const again = createKvDriver(await openKv(path), { now: Date.now });
      assert.deepEqual((await again.listUsers()).map((x) => x.id), [u.id, v.id]);
      await assert.rejects(again.createUser(makeUser({ email: v.email!.toUpperCase() })), DuplicateEmailError);
      await again.close();
    });
  }
});
