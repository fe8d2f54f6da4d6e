import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { StorageDriver } from "../../src/storage/driver.ts";
import type { SessionRecord, UserRecord } from "../../src/domain/records.ts";
import { DuplicateEmailError, UserGoneError } from "../../src/domain/errors.ts";
import { formatTimestamp, sessionEnd } from "../../src/domain/records.ts";
import { STORAGE_KINDS } from "../../src/storage/registry.ts";

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

/** A fresh store for the contract; `advanceClock` moves the driver's clock (drivers whose imports keep a heartbeat). */
export type ContractStore = {
  driver: StorageDriver;
  reopen?: () => Promise<StorageDriver>;
  cleanup?: () => Promise<void>;
  advanceClock?: (ms: number) => void;
};

/**
 * The behaviour every storage driver must have. Each driver's test file
 * calls this with a factory that opens a fresh, empty store; `reopen`, when
 * given, opens the same store again (durable drivers) to check persistence.
 */
export function runDriverContract(
  name: string,
  open: () => Promise<ContractStore>,
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

    it("lists the holders of an email case-insensitively, and refuses to move a user to another's email", async () => {
      const [a, b] = [makeUser({ email: "Holder@contract.test" }), makeUser({ email: "mover@contract.test" })];
      await d.createUser(a);
      await d.createUser(b);
      assert.deepEqual(await d.emailHolders("holder@CONTRACT.test"), [a.id]);
      assert.deepEqual(await d.emailHolders("nobody@contract.test"), []);
      await assert.rejects(d.updateUser({ ...b, email: "HOLDER@contract.test", first_name: "Moved" }), DuplicateEmailError);
      assert.deepEqual(await d.getUser(b.id), b, "nothing changed");
      assert.deepEqual(await d.emailHolders("holder@contract.test"), [a.id]);
      // Its own address in another case is no move.
      assert.equal(await d.updateUser({ ...a, email: "holder@contract.test" }), true);
      assert.deepEqual(await d.emailHolders("HOLDER@contract.test"), [a.id]);
    });

    it("of concurrent moves of two users to one free email exactly one succeeds", async () => {
      const movers = [makeUser(), makeUser()];
      for (const u of movers) await d.createUser(u);
      const results = await Promise.allSettled(movers.map((u) => d.updateUser({ ...u, email: "wanted@contract.test" })));
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(results));
      for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof DuplicateEmailError, String(r.reason));
      assert.equal((await d.emailHolders("wanted@contract.test")).length, 1);
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

  describe(`storage contract: ${name}: identity, expiry sweeps, unfinished imports`, () => {
    let d: StorageDriver;
    let ctx: ContractStore;
    before(async () => {
      ctx = await open();
      d = ctx.driver;
    });
    after(async () => {
      await d.close();
      await ctx.cleanup?.();
    });

    it("names its kind as the registry does and says where its data lives", () => {
      assert.ok(STORAGE_KINDS.some((k) => k.name === d.kind), `kind ${JSON.stringify(d.kind)} is not in the registry`);
      assert.equal(typeof d.location, "string");
      assert.notEqual(d.location.trim(), "");
    });

    it("a sweep removes the sessions past their lifetime (absolute or idle) and keeps the others", async () => {
      const lifetime = { absolute: 3600, idle: 600 };
      const now = Date.now();
      const ago = (minutes: number) => formatTimestamp(now - minutes * 60_000);
      const u = makeUser();
      await d.createUser(u);
      const old = makeSession(u.id, { created_at: ago(120), last_seen_at: ago(1) });
      const idle = makeSession(u.id, { created_at: ago(30), last_seen_at: ago(20) });
      const live = makeSession(u.id, { created_at: ago(30), last_seen_at: ago(1) });
      for (const s of [old, idle, live]) await d.createSession(s, sessionEnd(s, lifetime));
      const swept = await d.deleteExpiredSessions(lifetime, now);
      // Stores that expire records themselves may leave the work to their reads.
      assert.ok(swept === 2 || swept === 0, `swept ${swept}`);
      assert.equal(await d.getSession(old.session_id), null);
      assert.equal(await d.getSession(idle.session_id), null);
      assert.deepEqual(await d.getSession(live.session_id), live);
      assert.deepEqual((await d.listUserSessions(u.id)).map((s) => s.session_id), [live.session_id]);
      assert.deepEqual((await d.listSessions()).filter((s) => s.user_id === u.id).map((s) => s.session_id), [live.session_id]);
      assert.equal(await d.deleteExpiredSessions(lifetime, now), 0, "nothing left to sweep");
    });

    it("with no unfinished import, nothing is pending and an abort removes nothing, not even a finished import's records", async () => {
      assert.equal(await d.pendingImport(), null);
      assert.equal(await d.abortImport(), null);
      const u = makeUser();
      const s = makeSession(u.id);
      await d.importRecords([u], [s], { source: "/contract-finished" });
      assert.equal(await d.pendingImport(), null);
      assert.equal(await d.abortImport(), null);
      assert.deepEqual(await d.getUser(u.id), u);
      assert.deepEqual(await d.getSession(s.session_id), s);
    });

    /** Starts an import of `users` (a session each) that stops at its first progress report, as Ctrl-C would. */
    async function stoppedImport(source: string) {
      const users = [makeUser(), makeUser()];
      const sessions = users.map((u) => makeSession(u.id));
      const stop = () => {
        throw new Error("stopped");
      };
      // The failure reaches the caller (a driver may wrap it in its own error).
      await assert.rejects(d.importRecords(users, sessions, { source, pid: 4242, hostname: "contract", onProgress: stop }));
      // An import's process that stopped sends no more heartbeats: a minute later it is abandoned.
      ctx.advanceClock?.(60_000);
      const stored = async () => (await Promise.all(users.map((u) => d.getUser(u.id)))).filter(Boolean).length;
      return { users, sessions, pending: await d.pendingImport(), stored };
    }

    it("an import stopped midway is all or nothing, or pending; an abort removes what it added", async () => {
      const { users, sessions, pending, stored } = await stoppedImport("/contract-aborted");
      if (!pending) {
        // One batch or one transaction: the store holds all of it or none.
        assert.ok([0, users.length].includes(await stored()), "all or nothing");
        assert.equal(await d.abortImport(), null);
        return;
      }
      assert.equal(pending.source, "/contract-aborted");
      assert.deepEqual([pending.pid, pending.hostname, pending.users_total, pending.sessions_total], [4242, "contract", 2, 2]);
      assert.equal(pending.active, false, "abandoned once its heartbeat is old");
      const storedSessions = async () => (await Promise.all(sessions.map((s) => d.getSession(s.session_id)))).filter(Boolean).length;
      const added = { users: await stored(), sessions: await storedSessions() };
      assert.ok(added.users > 0, "a pending import added something before it stopped");
      const removed = await d.abortImport();
      assert.deepEqual(removed, {
        users: { imported: added.users, skipped: 0 },
        sessions: { imported: added.sessions, skipped: 0 },
      });
      assert.equal(await stored(), 0);
      for (const s of sessions) assert.equal(await d.getSession(s.session_id), null);
      assert.equal(await d.pendingImport(), null);
      assert.equal(await d.abortImport(), null, "nothing left to abort");
    });

    it("an import stopped midway and run again from its source completes, each record once", async () => {
      const { users, sessions, pending } = await stoppedImport("/contract-completed");
      const again = await d.importRecords(users, sessions, { source: "/contract-completed" });
      assert.equal(again.users.imported + again.users.skipped, users.length);
      assert.equal(await d.pendingImport(), null, `pending before: ${JSON.stringify(pending)}`);
      for (const u of users) assert.deepEqual(await d.getUser(u.id), u);
      for (const s of sessions) assert.deepEqual(await d.getSession(s.session_id), s);
      assert.equal((await d.listUsers()).filter((u) => users.some((x) => x.id === u.id)).length, users.length);
    });
  });
}
