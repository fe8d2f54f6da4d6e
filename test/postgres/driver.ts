import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DuplicateEmailError, InvalidInputError, StartupError, StorageUnavailableError } from "../../src/domain/errors.ts";
import type { StorageDriver } from "../../src/storage/driver.ts";
import { openPostgres } from "../../src/storage/postgres/connect.ts";
import { createPostgresDriver, type PostgresDriverOptions } from "../../src/storage/postgres/index.ts";
import { emailKey } from "../../src/storage/postgres/rows.ts";
import { MIGRATIONS } from "../../src/storage/postgres/schema.ts";
import { makeSession, makeUser, runDriverContract } from "../helpers/driver-contract.ts";
import { runAccountContract } from "../helpers/account-contract.ts";
import { createDatabase, onServer, type TestDatabase } from "../helpers/postgres.ts";

/** A driver on `url` with its own pool (two of them behave as two processes would). */
async function open(url: string, o: Partial<PostgresDriverOptions> = {}): Promise<StorageDriver> {
  const { sql, target } = await openPostgres(url, { poolSize: 4 });
  return createPostgresDriver(sql, { now: Date.now, location: target.display, ...o });
}

/** The contract every driver passes, and what only PostgreSQL does. */
export function postgresDriverTests(): void {
  runDriverContract("postgres", async () => {
    const db = await createDatabase("contract");
    return { driver: await open(db.url), reopen: () => open(db.url), cleanup: db.drop };
  });
  runAccountContract("postgres", async () => {
    const db = await createDatabase("accounts");
    // second: a driver with a pool of its own, as another process would have.
    return { driver: await open(db.url), reopen: () => open(db.url), second: () => open(db.url), cleanup: db.drop };
  });

  describe("postgres driver", () => {
    let db: TestDatabase;
    let d: StorageDriver;
    before(async () => {
      db = await createDatabase("driver");
      d = await open(db.url);
    });
    after(async () => {
      await d?.close();
      await db?.drop();
    });

    it("migrates once when five processes open a new database at once, and refuses a newer schema", async () => {
      const fresh = await createDatabase("migrate");
      try {
        // A slow last migration widens the window in which the openers race.
        const n = MIGRATIONS.length;
        const all = [...MIGRATIONS.map((m) => m.version), n + 1];
        const slow = {
          version: n + 1,
          name: "probe",
          sql: "create table probe (pid int default pg_backend_pid()); insert into probe default values; select pg_sleep(0.3);",
        };
        const opened = await Promise.all(
          Array.from({ length: 5 }, () => openPostgres(fresh.url, { poolSize: 1, migrations: [...MIGRATIONS, slow] })),
        );
        assert.deepEqual(opened.map((o) => o.migration.applied).sort(), [[], [], [], [], all]);
        await Promise.all(opened.map((o) => o.sql.end()));
        await onServer(fresh.url, async (sql) => {
          assert.deepEqual((await sql`select version from schema_version order by version`).map((r) => r.version), all);
          assert.equal((await sql`select count(*)::int as n from probe`)[0].n, 1);
          await sql`insert into schema_version (version, name) values (${n + 2}, 'from the future')`;
        });
        const err = await openPostgres(fresh.url, { poolSize: 1 }).catch((e) => e);
        assert.ok(err instanceof StartupError, String(err));
        assert.match(err.message, new RegExp(`schema version ${n + 2}, newer than this version of the service knows \\(${n}\\)`));
        assert.ok(!err.message.includes("\n"));
      } finally {
        await fresh.drop();
      }
    });

    it("imports legacy duplicate emails and still refuses new ones, even once the first is deleted", async () => {
      const [a, b, c] = [makeUser({ email: "Twin@pg.test" }), makeUser({ email: "twin@pg.test" }), makeUser({ email: "TWIN@pg.test" })];
      assert.deepEqual((await d.importRecords([a, b, c], [])).users, { imported: 3, skipped: 0 });
      assert.equal((await d.findUserByEmail("twin@pg.test"))?.id, b.id);
      assert.equal((await d.findUserByEmail("Twin@pg.test"))?.id, a.id);
      await assert.rejects(d.createUser(makeUser({ email: "tWin@pg.test" })), DuplicateEmailError);
      assert.equal(await d.deleteUser(a.id), true);
      await assert.rejects(d.createUser(makeUser({ email: "twin@PG.test" })), DuplicateEmailError);
      // Importing the same source again adds nothing; a later user of it joins the duplicates.
      const later = makeUser({ email: "twin@pg.TEST" });
      assert.deepEqual((await d.importRecords([b, c, later], [])).users, { imported: 1, skipped: 2 });
      // Another source's user of that email is skipped.
      assert.deepEqual((await d.importRecords([makeUser({ email: "twin@pg.test" })], [])).users, { imported: 0, skipped: 1 });
      for (const u of [b, c, later]) assert.equal(await d.deleteUser(u.id), true);
      await d.createUser(makeUser({ email: "Twin@pg.test" }));
    });

    it("leaves one user of concurrent sign-ups of one email from two pools, and the database itself refuses a duplicate", async () => {
      const other = await open(db.url);
      try {
        const results = await Promise.allSettled(
          Array.from(
            { length: 20 },
            (_, i) => (i % 2 ? d : other).createUser(makeUser({ email: i % 3 ? "race@pg.test" : "RACE@pg.test" })),
          ),
        );
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof DuplicateEmailError, String(r.reason));
      } finally {
        await other.close();
      }
      // Without the driver's check: the unique index alone.
      const err = await onServer(
        db.url,
        (sql) =>
          sql`insert into users (id, created_at, updated_at, email, email_key) values ('x', '', '', 'Race@pg.test', ${
            emailKey("Race@pg.test")
          })`,
      ).catch((e) => e);
      assert.equal(err.code, "23505");
      assert.equal(err.constraint_name, "users_email_unique");
    });

    it("counts shared counters exactly under concurrent updates from two pools", async () => {
      const other = await open(db.url);
      try {
        const bump = (s: StorageDriver) =>
          s.counters!.update(
            [["a"], ["b", "c"]],
            ([x, y]) => ({ records: [((x as number) ?? 0) + 1, ((y as number) ?? 0) + 2], result: null }),
            60_000,
          );
        await Promise.all(Array.from({ length: 30 }, (_, i) => bump(i % 2 ? d : other)));
        const read = await d.counters!.update([["b", "c"], ["a"]], (r) => ({ records: r, result: r }), 60_000);
        assert.deepEqual(read, [60, 30]);
        // A long part (an email, a client address) is stored hashed, and still found by the other pool and by a prefix.
        const long = ["ca", "k".repeat(3000), "x"];
        await d.counters!.update([long], () => ({ records: [7], result: null }), 60_000);
        assert.deepEqual(await other.counters!.update([long], (r) => ({ records: r, result: r }), 60_000), [7]);
        assert.equal(await other.counters!.clear(["ca", "k".repeat(3000)]), 1);
      } finally {
        await other.close();
      }
    });

    it("never serves an expired session, sweeps it, and a late use does not bring one back", async () => {
      let now = Date.parse("2025-01-01T00:00:00Z");
      const timed = await open(db.url, { now: () => now, sessionLifetime: { absolute: 60, idle: 0 } });
      try {
        const u = makeUser();
        await timed.createUser(u);
        const [s, eternal] = [makeSession(u.id), makeSession(u.id, { last_seen_at: "2025-01-01T00:00:00" })];
        await timed.createSession(s, now + 60_000);
        await timed.createSession(eternal, null);
        now += 60_000;
        assert.deepEqual(await timed.getSession(s.session_id), s, "live through its last millisecond");
        now += 1;
        assert.equal(await timed.getSession(s.session_id), null);
        assert.deepEqual(await timed.getSessionAndUser(s.session_id, u.id), { session: null, user: u });
        assert.deepEqual((await timed.listUserSessions(u.id)).map((x) => x.session_id), [eternal.session_id]);
        await timed.touchSession(s.session_id, "2025-01-01T00:01:00", now + 60_000);
        assert.equal(await timed.getSession(s.session_id), null);
        // The sweep removes it, and a session stored without an end once the lifetime says so.
        assert.equal(await timed.deleteExpiredSessions({ absolute: 0, idle: 0 }, now), 1);
        assert.equal(await timed.deleteExpiredSessions({ absolute: 0, idle: 3600 }, now), 0);
        assert.equal(await timed.deleteExpiredSessions({ absolute: 0, idle: 3600 }, now + 3600_000), 1);
        assert.equal(await timed.getSession(eternal.session_id), null);
      } finally {
        await timed.close();
      }
    });

    it("imports 10k users in order, then a second import adds nothing", async () => {
      const users = Array.from({ length: 10_000 }, (_, i) => makeUser({ email: i % 1000 === 0 ? "legacy@bulk.test" : undefined }));
      const u0 = users[0];
      const sessions = users.slice(0, 100).map((u) => makeSession(u.id, { ip: null }));
      const phases = new Set<string>();
      const first = await d.importRecords(users, sessions, {
        source: "/bulk",
        onProgress: (p) => phases.add(`${p.phase}:${p.done === p.total}`),
      });
      assert.deepEqual(first, { users: { imported: 10_000, skipped: 0 }, sessions: { imported: 100, skipped: 0 } });
      assert.ok(phases.has("users:true") && phases.has("sessions:true"), [...phases].join());
      const last = makeUser();
      await d.createUser(last);
      const again = await d.importRecords([...users, last], sessions);
      assert.deepEqual(again, { users: { imported: 0, skipped: 10_001 }, sessions: { imported: 0, skipped: 100 } });
      const ids = (await d.listUsers()).map((u) => u.id);
      assert.deepEqual(ids.slice(-10_001), [...users.map((u) => u.id), last.id]);
      assert.equal((await d.findUserByEmail("legacy@bulk.test"))?.id, u0.id);
      assert.deepEqual(await d.getSession(sessions[0].session_id), sessions[0]);
      // Sessions of users neither stored nor imported cannot be kept (and are counted).
      assert.deepEqual((await d.importRecords([], [makeSession("nobody")])).sessions, { imported: 0, skipped: 1 });
    });

    it("takes long emails, refuses text PostgreSQL cannot hold, and fails closed once closed", async () => {
      const email = `${"x".repeat(3000)}@pg.test`;
      const u = makeUser({ email });
      await d.createUser(u);
      assert.equal((await d.findUserByEmail(email))?.id, u.id);
      await assert.rejects(d.createUser(makeUser({ email: email.toUpperCase() })), DuplicateEmailError);
      await assert.rejects(d.createUser(makeUser({ first_name: "nul\0" })), InvalidInputError);
      assert.equal(await d.getUser("i".repeat(5000)), null);
      const closing = await open(db.url);
      await closing.close();
      const err = await closing.getUser(u.id).catch((e) => e);
      assert.ok(err instanceof StorageUnavailableError, String(err));
      assert.match(err.detail, /^PostgreSQL: cannot read a user: /);
    });
  });
}
