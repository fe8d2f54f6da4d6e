import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { StorageDriver } from "../../src/storage/driver.ts";
import type { SessionRecord, UserRecord } from "../../src/domain/records.ts";
import { DuplicateEmailError, UserGoneError } from "../../src/domain/errors.ts";

let counter = 0;
export function makeUser(over: Partial<UserRecord> = {}): UserRecord {
  counter++;
  return {
    id: over.id ?? crypto.randomUUID(),
    created_at: over.created_at ?? "2024-01-01T00:00:00",
    updated_at: over.updated_at ?? "2024-01-01T00:00:00",
    email: over.email === undefined ? `user${counter}-${crypto.randomUUID()}@example.com` : over.email,
    _password: over._password === undefined ? "pbkdf2_sha256$600000$c2FsdA$aGFzaA" : over._password,
    first_name: over.first_name ?? null,
    last_name: over.last_name ?? null,
  };
}

export function makeSession(userId: string, over: Partial<SessionRecord> = {}): SessionRecord {
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    id: over.id ?? crypto.randomUUID(),
    created_at: over.created_at ?? "2024-01-01T00:00:00",
    updated_at: over.updated_at ?? "2024-01-01T00:00:00",
    user_id: userId,
    session_id: over.session_id ?? hex,
    ...(over.last_seen_at !== undefined ? { last_seen_at: over.last_seen_at } : {}),
    ...(over.ip !== undefined ? { ip: over.ip } : {}),
    ...(over.user_agent !== undefined ? { user_agent: over.user_agent } : {}),
  };
}

/**
 * The behaviour every storage driver must have. Each driver's test file
 * calls this with a factory that opens a fresh, empty store; `reopen`, when
 * given, opens the same store again (durable drivers) to check persistence.
 */
export function runDriverContract(
  name: string,
  open: () => Promise<{ driver: StorageDriver; reopen?: () => Promise<StorageDriver>; cleanup?: () => Promise<void> }>,
): void {
  describe(`storage contract: ${name}`, () => {
    let d: StorageDriver;
    let ctx: Awaited<ReturnType<typeof open>>;
    before(async () => {
      ctx = await open();
      d = ctx.driver;
    });
    after(async () => {
      await d.close();
      await ctx.cleanup?.();
    });

    it("starts empty", async () => {
      assert.equal(await d.isEmpty(), true);
      assert.equal(await d.countUsers(), 0);
      assert.deepEqual(await d.listUsers(), []);
    });

    it("creates, reads, lists in creation order and counts users", async () => {
      const a = makeUser({ email: "a@contract.test" });
      const b = makeUser({ email: "b@contract.test" });
      await d.createUser(a);
      await d.createUser(b);
      assert.deepEqual(await d.getUser(a.id), a);
      assert.equal(await d.getUser("nope"), null);
      const ids = (await d.listUsers()).map((u) => u.id);
      assert.deepEqual(ids.slice(-2), [a.id, b.id]);
      assert.equal(await d.countUsers(), ids.length);
      assert.equal(await d.isEmpty(), false);
    });

    it("keeps the stored key order of a user record", async () => {
      const u = makeUser();
      await d.createUser(u);
      const got = await d.getUser(u.id);
      assert.deepEqual(Object.keys(got!), ["id", "created_at", "updated_at", "email", "_password", "first_name", "last_name"]);
    });

    it("rejects a second user with the same email, case-insensitively", async () => {
      const u = makeUser({ email: "Dup@Contract.test" });
      await d.createUser(u);
      await assert.rejects(d.createUser(makeUser({ email: "dup@contract.TEST" })), DuplicateEmailError);
      assert.equal((await d.findUserByEmail("Dup@Contract.test"))?.id, u.id);
    });

    it("of concurrent creates of one email exactly one succeeds", async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => d.createUser(makeUser({ email: "race@contract.test" }))),
      );
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof DuplicateEmailError);
      const all = await d.listUsers();
      assert.equal(all.filter((u) => u.email === "race@contract.test").length, 1);
    });

    it("finds by exact email only", async () => {
      const u = makeUser({ email: "Exact@contract.test" });
      await d.createUser(u);
      assert.equal((await d.findUserByEmail("Exact@contract.test"))?.id, u.id);
      assert.equal(await d.findUserByEmail("exact@contract.test"), null);
      assert.equal(await d.findUserByEmail("missing@contract.test"), null);
    });

    it("updates a user in place, keeping its position", async () => {
      const u = makeUser();
      await d.createUser(u);
      const before = (await d.listUsers()).map((x) => x.id);
      assert.equal(await d.updateUser({ ...u, first_name: "Ann", updated_at: "2025-01-01T00:00:00" }), true);
      assert.equal((await d.getUser(u.id))?.first_name, "Ann");
      assert.deepEqual((await d.listUsers()).map((x) => x.id), before);
      assert.equal(await d.updateUser(makeUser()), false);
    });

    it("stores, finds and deletes sessions by token hash", async () => {
      const u = makeUser();
      await d.createUser(u);
      const s = makeSession(u.id);
      await d.createSession(s, null);
      assert.deepEqual(await d.getSession(s.session_id), s);
      assert.equal(await d.deleteSession(s.session_id), true);
      assert.equal(await d.getSession(s.session_id), null);
      assert.equal(await d.deleteSession(s.session_id), false);
    });

    it("lists stored sessions", async () => {
      const u = makeUser();
      await d.createUser(u);
      const s = makeSession(u.id);
      await d.createSession(s, null);
      assert.ok((await d.listSessions()).some((x) => x.session_id === s.session_id));
      await d.deleteSession(s.session_id);
      assert.ok(!(await d.listSessions()).some((x) => x.session_id === s.session_id));
    });

    it("reads a session and its user together", async () => {
      const u = makeUser();
      await d.createUser(u);
      const s = makeSession(u.id);
      await d.createSession(s, null);
      assert.deepEqual(await d.getSessionAndUser(s.session_id, u.id), { session: s, user: u });
      assert.deepEqual(await d.getSessionAndUser(s.session_id, "someone-else"), { session: s, user: null });
      assert.deepEqual(await d.getSessionAndUser("0".repeat(64), u.id), { session: null, user: u });
    });

    it("keeps a session's last use, client address and user agent, and records new uses", async () => {
      const u = makeUser();
      await d.createUser(u);
      const s = makeSession(u.id, { last_seen_at: "2024-01-01T00:00:00", ip: "203.0.113.7", user_agent: "curl/8.5.0" });
      await d.createSession(s, null);
      assert.deepEqual(await d.getSession(s.session_id), s);
      await d.touchSession(s.session_id, "2024-01-01T00:05:00", null);
      assert.deepEqual(await d.getSession(s.session_id), { ...s, last_seen_at: "2024-01-01T00:05:00" });
      assert.deepEqual(await d.listUserSessions(u.id), [{ ...s, last_seen_at: "2024-01-01T00:05:00" }]);
      // A use of an ended session does not bring it back.
      await d.deleteSession(s.session_id);
      await d.touchSession(s.session_id, "2024-01-01T00:06:00", null);
      assert.equal(await d.getSession(s.session_id), null);
    });

    it("refuses a session for a user that does not exist (UserGoneError)", async () => {
      await assert.rejects(d.createSession(makeSession("no-such-user"), null), UserGoneError);
      const u = makeUser();
      await d.createUser(u);
      await d.deleteUser(u.id);
      await assert.rejects(d.createSession(makeSession(u.id), null), UserGoneError);
    });

    it("ends every session of a user but one, and lists a user's sessions", async () => {
      const [u, other] = [makeUser(), makeUser()];
      await d.createUser(u);
      await d.createUser(other);
      const mine = [makeSession(u.id), makeSession(u.id), makeSession(u.id)];
      const theirs = makeSession(other.id);
      for (const s of [...mine, theirs]) await d.createSession(s, null);
      const listed = (await d.listUserSessions(u.id)).map((s) => s.session_id).sort();
      assert.deepEqual(listed, mine.map((s) => s.session_id).sort());
      assert.equal(await d.deleteUserSessions(u.id, mine[0].session_id), 2);
      assert.deepEqual((await d.listUserSessions(u.id)).map((s) => s.session_id), [mine[0].session_id]);
      assert.deepEqual(await d.getSession(theirs.session_id), theirs);
      assert.equal(await d.deleteUserSessions(u.id, null), 1);
      assert.deepEqual(await d.listUserSessions(u.id), []);
    });

    it("deleting a user ends all of its sessions, and only its own", async () => {
      const u = makeUser();
      const other = makeUser();
      await d.createUser(u);
      await d.createUser(other);
      const s1 = makeSession(u.id);
      const s2 = makeSession(u.id);
      const s3 = makeSession(other.id);
      for (const s of [s1, s2, s3]) await d.createSession(s, null);
      assert.equal(await d.deleteUser(u.id), true);
      assert.equal(await d.getUser(u.id), null);
      assert.equal(await d.getSession(s1.session_id), null);
      assert.equal(await d.getSession(s2.session_id), null);
      assert.deepEqual(await d.getSession(s3.session_id), s3);
      assert.equal(await d.deleteUser(u.id), false);
      // The email is free again.
      await d.createUser(makeUser({ email: u.email }));
    });

    it("imports records keeping ids, legacy duplicates and hashes, and importing twice adds nothing", async () => {
      const a = makeUser({ email: "legacy@contract.test", _password: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8" });
      const b = makeUser({ email: "legacy@contract.test" });
      const c = makeUser({ email: "", _password: null });
      const s = makeSession(a.id);
      const first = await d.importRecords([a, b, c], [s]);
      assert.deepEqual(first, { users: { imported: 3, skipped: 0 }, sessions: { imported: 1, skipped: 0 } });
      const second = await d.importRecords([a, b, c], [s]);
      assert.deepEqual(second, { users: { imported: 0, skipped: 3 }, sessions: { imported: 0, skipped: 1 } });
      assert.equal((await d.findUserByEmail("legacy@contract.test"))?.id, a.id);
      assert.deepEqual(await d.getUser(c.id), c);
      assert.deepEqual(await d.getSession(s.session_id), s);
      const ids = (await d.listUsers()).map((u) => u.id);
      assert.deepEqual(ids.slice(-3), [a.id, b.id, c.id]);
    });

    it("an import skips a record whose email the store holds (any case), and its sessions, counting them", async () => {
      const held = makeUser({ email: "held@contract.test" });
      await d.createUser(held);
      const clash = makeUser({ email: "HELD@contract.test" });
      const clashTwin = makeUser({ email: "held@contract.test" });
      const fresh = makeUser({ email: "fresh@contract.test" });
      const freshTwin = makeUser({ email: "Fresh@contract.test" });
      const summary = await d.importRecords([clash, clashTwin, fresh, freshTwin], [makeSession(clash.id), makeSession(fresh.id)], {
        source: "/contract",
      });
      assert.deepEqual(summary, { users: { imported: 2, skipped: 2 }, sessions: { imported: 1, skipped: 1 } });
      assert.equal(await d.getUser(clash.id), null);
      assert.equal((await d.findUserByEmail("held@contract.test"))?.id, held.id);
      // Duplicates within one source are the original's legacy data: both stay, the first wins.
      assert.equal((await d.findUserByEmail("fresh@contract.test"))?.id, fresh.id);
      assert.deepEqual(await d.getUser(freshTwin.id), freshTwin);
      assert.equal(await d.pendingImport(), null, "a finished import leaves nothing pending");
    });

    it("keeps non-ASCII text", async () => {
      const u = makeUser({ first_name: "Zoë 日本 🎉", last_name: "Ñ" });
      await d.createUser(u);
      assert.deepEqual(await d.getUser(u.id), u);
    });

    it("shared counters (drivers that have them): updates are atomic, records expire, a prefix clears", async (t) => {
      const c = d.counters;
      if (!c) return t.skip("keeps no counters (the throttle counts in process memory)");
      const bump = () =>
        c.update(
          [["a", "x"], ["b"]],
          ([x, y]) => ({ records: [((x as number) ?? 0) + 1, ((y as number) ?? 0) + 2], result: null }),
          60_000,
        );
      await Promise.all(Array.from({ length: 20 }, bump));
      assert.deepEqual(await c.update([["b"], ["a", "x"]], (r) => ({ records: r, result: r }), 60_000), [40, 20]);
      // Parts may hold anything a login sends: LIKE wildcards, NUL, thousands of characters.
      const long = "k".repeat(3000);
      const keys = [
        ["ca", "bob_1%@x.io", "10.0.0.1"],
        ["ca", "bob_1%@x.io", long],
        ["ca", "bob_1%@x.io"],
        ["ca", "bob_10%@x.io", "1"],
        ["ca", "bobx1%@x.io", "1"],
        ["c", "bob_1%@x.io"],
        ["ca", "n\0ul", "\0"],
      ];
      await c.update(keys, () => ({ records: keys.map((_, i) => ({ n: i })), result: null }), 60_000);
      assert.equal(await c.clear(["ca", "bob_1%@x.io"]), 3);
      const after = await c.update(keys, (r) => ({ records: r, result: r }), 60_000);
      assert.deepEqual(after, [null, null, null, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }]);
      assert.equal(await c.clear(["ca", "nobody@x.io"]), 0);
      // A record past its time reads as absent; null deletes.
      await c.update([["short"]], () => ({ records: [{ n: 1 }], result: null }), 1);
      await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(await c.update([["short"]], (r) => ({ records: r, result: r }), 1), [null]);
      await c.update([["b"]], () => ({ records: [null], result: null }), 60_000);
      assert.deepEqual(await c.update([["b"]], (r) => ({ records: r, result: r }), 60_000), [null]);
    });

    it("keeps everything across a reopen (durable drivers)", async (t) => {
      if (!ctx.reopen) return t.skip("not a durable driver");
      const u = makeUser({ first_name: "Persist" });
      await d.createUser(u);
      const s = makeSession(u.id);
      await d.createSession(s, null);
      const ids = (await d.listUsers()).map((x) => x.id);
      await d.close();
      d = await ctx.reopen();
      assert.deepEqual(await d.getUser(u.id), u);
      assert.deepEqual(await d.getSession(s.session_id), s);
      assert.deepEqual((await d.listUsers()).map((x) => x.id), ids);
    });
  });
}

/**
 * The account record (our per-user state beside the original's user
 * record), on every driver: stored whole, replaced, refused for a missing
 * user, deleted with its user, and kept across a reopen.
 */
export function runAccountContract(
  name: string,
  open: () => Promise<{ driver: StorageDriver; reopen?: () => Promise<StorageDriver>; cleanup?: () => Promise<void> }>,
): void {
  describe(`storage contract, account records: ${name}`, () => {
    let d: StorageDriver;
    let ctx: Awaited<ReturnType<typeof open>>;
    before(async () => {
      ctx = await open();
      d = ctx.driver;
    });
    after(async () => {
      await d.close();
      await ctx.cleanup?.();
    });

    it("stores, replaces and lists a user's account record", async () => {
      const u = makeUser();
      await d.createUser(u);
      assert.equal(await d.getAccount(u.id), null);
      const granted = { user_id: u.id, admin_granted_at: "2025-01-02T03:04:05", admin_email: u.email!.toLowerCase() };
      await d.putAccount(granted);
      assert.deepEqual(await d.getAccount(u.id), granted);
      const revoked = { ...granted, admin_granted_at: null, admin_email: null };
      await d.putAccount(revoked);
      assert.deepEqual(await d.getAccount(u.id), revoked);
      assert.deepEqual((await d.listAccounts()).filter((a) => a.user_id === u.id), [revoked]);
      // The user record itself is untouched by its account record.
      assert.deepEqual(await d.getUser(u.id), u);
    });

    it("refuses an account record for a user that does not exist", async () => {
      const id = crypto.randomUUID();
      await assert.rejects(d.putAccount({ user_id: id, admin_granted_at: "2025-01-02T03:04:05", admin_email: "x@y.z" }), UserGoneError);
      assert.equal(await d.getAccount(id), null);
    });

    it("deletes the account record with its user", async () => {
      const u = makeUser();
      await d.createUser(u);
      await d.putAccount({ user_id: u.id, admin_granted_at: "2025-01-02T03:04:05", admin_email: u.email!.toLowerCase() });
      assert.equal(await d.deleteUser(u.id), true);
      assert.equal(await d.getAccount(u.id), null);
      assert.ok(!(await d.listAccounts()).some((a) => a.user_id === u.id));
      // A new user under the same id starts without the old grant.
      await d.createUser({ ...u, email: `again-${u.email}` });
      assert.equal(await d.getAccount(u.id), null);
    });

    it("keeps account records across a reopen (durable drivers)", async (t) => {
      if (!ctx.reopen) return t.skip("not a durable driver");
      const u = makeUser();
      await d.createUser(u);
      const granted = { user_id: u.id, admin_granted_at: "2025-01-02T03:04:05", admin_email: u.email!.toLowerCase() };
      await d.putAccount(granted);
      await d.close();
      d = await ctx.reopen();
      assert.deepEqual(await d.getAccount(u.id), granted);
      assert.deepEqual(await d.getUser(u.id), u);
    });
  });
}
