import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { StorageDriver } from "../../src/storage/driver.ts";
import { type AccountRecord, emptyAccount, type OneTimeToken } from "../../src/domain/accounts.ts";
import { UserGoneError } from "../../src/domain/errors.ts";
import { formatTimestamp } from "../../src/domain/records.ts";
import { makeUser } from "./driver-contract.ts";

/** A fresh store for the account contract; `second` opens another driver on the same store (another process's view). */
export type AccountContractStore = {
  driver: StorageDriver;
  reopen?: () => Promise<StorageDriver>;
  second?: () => Promise<StorageDriver>;
  cleanup?: () => Promise<void>;
};

/** A token expiring at `expiresMs` (ms since the epoch). */
export function makeToken(hash: string, expiresMs: number, over: Partial<OneTimeToken> = {}): OneTimeToken {
  return { purpose: "reset", hash, created_at: "2025-01-01T00:00:00", expires_at: formatTimestamp(expiresMs), email: null, ...over };
}

const FAR = Date.UTC(2099, 0, 1);

/** An account record with every kind of state, none of it empty. */
export function fullAccount(userId: string): AccountRecord {
  return {
    ...emptyAccount(userId),
    admin_granted_at: "2025-01-02T03:04:05",
    admin_email: "admin@contract.test",
    email_verified: false,
    tokens: [
      makeToken("a".repeat(64), FAR, { purpose: "verify", email: "Zoë@contract.test" }),
      makeToken("b".repeat(64), FAR, { purpose: "email_change", email: "new@contract.test" }),
    ],
    totp: {
      secret: "v1.aXY.Y2lwaGVy",
      confirmed_at: "2025-01-03T00:00:00",
      last_step: 58_000_000,
      recovery_codes: ["c".repeat(64), "d".repeat(64)],
    },
    passkeys: [{
      id: "Y3JlZA",
      public_key: "cHVibGlj",
      counter: 7,
      transports: ["internal", "usb"],
      name: "Laptop 日本",
      created_at: "2025-01-04T00:00:00",
      last_used_at: null,
    }],
  };
}

/** Appends a token (the change of the concurrency checks). */
const append = (hash: string) => (cur: AccountRecord) => ({
  account: { ...cur, tokens: [...cur.tokens, makeToken(hash, FAR)] },
  result: hash,
});

/** Removes the token `hash` if present: true once, false after (a one-shot use). */
const consume = (hash: string) => (cur: AccountRecord) => {
  const tokens = cur.tokens.filter((t) => t.hash !== hash);
  return tokens.length === cur.tokens.length ? { account: null, result: false } : { account: { ...cur, tokens }, result: true };
};

/**
 * The account record (our per-user state beside the original's user
 * record), on every driver: stored whole, replaced, changed atomically,
 * refused for a missing user, deleted with its user, kept across a reopen.
 */
export function runAccountContract(name: string, open: () => Promise<AccountContractStore>): void {
  describe(`storage contract, account records: ${name}`, () => {
    let d: StorageDriver;
    let ctx: AccountContractStore;
    before(async () => {
      ctx = await open();
      d = ctx.driver;
    });
    after(async () => {
      await d.close();
      await ctx.cleanup?.();
    });
    const newUser = async () => {
      const u = makeUser();
      await d.createUser(u);
      return u;
    };

    it("stores, replaces and lists a user's account record, every field exactly", async () => {
      const u = await newUser();
      assert.equal(await d.getAccount(u.id), null);
      const full = fullAccount(u.id);
      await d.putAccount(full);
      assert.deepEqual(await d.getAccount(u.id), full);
      assert.deepEqual((await d.listAccounts()).filter((a) => a.user_id === u.id), [full]);
      const revoked = { ...full, admin_granted_at: null, admin_email: null, email_verified: true, totp: null, passkeys: [] };
      await d.putAccount(revoked);
      assert.deepEqual(await d.getAccount(u.id), revoked);
      assert.deepEqual((await d.listAccounts()).filter((a) => a.user_id === u.id), [revoked]);
      // The user record itself is untouched by its account record.
      assert.deepEqual(await d.getUser(u.id), u);
    });

    it("refuses an account record for a user that does not exist", async () => {
      const id = crypto.randomUUID();
      await assert.rejects(d.putAccount(fullAccount(id)), UserGoneError);
      await assert.rejects(d.updateAccount(id, append("x")), UserGoneError);
      assert.equal(await d.getAccount(id), null);
    });

    it("deletes the account record with its user", async () => {
      const u = await newUser();
      await d.putAccount(fullAccount(u.id));
      const v = await newUser();
      await d.updateAccount(v.id, append("v"));
      assert.equal(await d.deleteUser(u.id), true);
      assert.equal(await d.deleteUser(v.id), true);
      assert.equal(await d.getAccount(u.id), null);
      assert.equal(await d.getAccount(v.id), null);
      assert.ok(!(await d.listAccounts()).some((a) => a.user_id === u.id || a.user_id === v.id));
      await assert.rejects(d.updateAccount(v.id, append("again")), UserGoneError);
      // A new user under the same id starts without the old grant.
      await d.createUser({ ...u, email: `again-${u.email}` });
      assert.equal(await d.getAccount(u.id), null);
    });

    it("updateAccount creates the record on first change and passes the result through", async () => {
      const u = await newUser();
      let seen: AccountRecord | null = null;
      const result = await d.updateAccount(u.id, (cur) => {
        seen = cur;
        return { account: { ...cur, email_verified: false }, result: { answer: 42 } };
      });
      assert.deepEqual(seen, emptyAccount(u.id));
      assert.deepEqual(result, { answer: 42 });
      assert.deepEqual(await d.getAccount(u.id), { ...emptyAccount(u.id), email_verified: false });
      // The next change sees the stored record.
      assert.equal(
        await d.updateAccount(u.id, (cur) => ({ account: { ...cur, email_verified: true }, result: cur.email_verified })),
        false,
      );
      assert.equal((await d.getAccount(u.id))?.email_verified, true);
    });

    it("updateAccount stores nothing when the change returns null, and passes on what the change throws", async () => {
      const u = await newUser();
      assert.equal(await d.updateAccount(u.id, () => ({ account: null, result: "kept" })), "kept");
      assert.equal(await d.getAccount(u.id), null);
      assert.ok(!(await d.listAccounts()).some((a) => a.user_id === u.id));
      const boom = new RangeError("no such token");
      await assert.rejects(
        d.updateAccount(u.id, () => {
          throw boom;
        }),
        (e) => e === boom,
      );
      assert.equal(await d.getAccount(u.id), null);
    });

    it("of 20 concurrent updates that each append a token, none is lost", async () => {
      const u = await newUser();
      const other = ctx.second ? await ctx.second() : d;
      try {
        const hashes = Array.from({ length: 20 }, (_, i) => `concurrent-${i}`);
        const results = await Promise.all(hashes.map((h, i) => (i % 2 ? other : d).updateAccount(u.id, append(h))));
        assert.deepEqual(results, hashes);
        const stored = (await d.getAccount(u.id))!.tokens.map((t) => t.hash);
        assert.deepEqual([...stored].sort(), [...hashes].sort());
        assert.deepEqual((await other.getAccount(u.id))!.tokens.length, 20);
      } finally {
        if (other !== d) await other.close();
      }
    });

    it("a one-shot use of a token called 10 times at once succeeds exactly once", async () => {
      const u = await newUser();
      await d.putAccount({ ...emptyAccount(u.id), tokens: [makeToken("once", FAR), makeToken("other", FAR)] });
      const other = ctx.second ? await ctx.second() : d;
      try {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : d).updateAccount(u.id, consume("once"))));
        assert.equal(results.filter((r) => r === true).length, 1);
        assert.deepEqual((await d.getAccount(u.id))!.tokens.map((t) => t.hash), ["other"]);
      } finally {
        if (other !== d) await other.close();
      }
    });

    it("deleteExpiredTokens removes only the expired tokens and counts them", async () => {
      const now = Date.UTC(2030, 5, 1, 12);
      const [u, v, w] = [await newUser(), await newUser(), await newUser()];
      const live = makeToken("live", now + 1000);
      await d.putAccount({ ...fullAccount(u.id), tokens: [makeToken("old", now - 1000), live, makeToken("edge", now)] });
      await d.putAccount({ ...emptyAccount(v.id), tokens: [makeToken("old-v", now - 86_400_000)] });
      await d.putAccount(fullAccount(w.id));
      assert.equal(await d.deleteExpiredTokens(now), 3);
      assert.deepEqual(await d.getAccount(u.id), { ...fullAccount(u.id), tokens: [live] });
      assert.deepEqual(await d.getAccount(v.id), emptyAccount(v.id));
      assert.deepEqual(await d.getAccount(w.id), fullAccount(w.id));
      assert.equal(await d.deleteExpiredTokens(now), 0);
    });

    it("keeps account records across a reopen (durable drivers)", async (t) => {
      if (!ctx.reopen) return t.skip("not a durable driver");
      const u = await newUser();
      const full = fullAccount(u.id);
      await d.putAccount(full);
      const v = await newUser();
      await d.updateAccount(v.id, append("durable"));
      await d.close();
      d = await ctx.reopen();
      assert.deepEqual(await d.getAccount(u.id), full);
      assert.deepEqual((await d.getAccount(v.id))?.tokens.map((t) => t.hash), ["durable"]);
      assert.deepEqual(await d.getUser(u.id), u);
    });
  });
}
