import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { emptyAccount } from "../src/domain/accounts.ts";
import { makeUser } from "./helpers/driver-contract.ts";
import { fullAccount, makeToken } from "./helpers/account-contract.ts";
import { openOn, ORIGINAL_USERS, removeDir, tempDir } from "./helpers/file-fixtures.ts";

/**
 * The file store keeps whole account records (verified flag, one-time
 * tokens, second factors) in its journal and in `.db_UserAccount.json`:
 * through a journal replay, a compaction, and from files written before
 * those fields existed.
 */

const ACCOUNTS = ".db_UserAccount.json";
const JOURNAL = ".db_journal.1.jsonl";
const FAR = Date.UTC(2099, 0, 1);

describe("file driver: account records on disk", () => {
  it("a full record survives a restart from the journal alone and from the data file written at close", async () => {
    const dir = await tempDir();
    const crashed = await tempDir();
    try {
      const d = await openOn(dir);
      const u = makeUser();
      await d.createUser(u);
      await d.putAccount(fullAccount(u.id));
      await d.updateAccount(u.id, (cur) => ({ account: { ...cur, tokens: [...cur.tokens, makeToken("late", FAR)] }, result: null }));
      const expected = await d.getAccount(u.id);
      assert.equal(expected?.tokens.length, 3);
      // What a crash before the close leaves: the journal only.
      await writeFile(join(crashed, JOURNAL), await readFile(join(dir, JOURNAL)));
      await d.close();

      const fromFile = JSON.parse(await readFile(join(dir, ACCOUNTS), "utf8"));
      assert.deepEqual(fromFile, { [u.id]: expected });
      for (const where of [dir, crashed]) {
        const again = await openOn(where);
        assert.deepEqual(await again.getAccount(u.id), expected, where);
        assert.deepEqual(await again.listAccounts(), [expected], where);
        await again.close();
      }
    } finally {
      await Promise.all([removeDir(dir), removeDir(crashed)]);
    }
  });

  it("a compaction moves full records into the accounts file, and changes after it replay over it", async () => {
    const dir = await tempDir();
    try {
      const d = await openOn(dir);
      const [u, v] = [makeUser(), makeUser()];
      await d.createUser(u);
      await d.createUser(v);
      await d.putAccount(fullAccount(u.id));
      await d.compact();
      assert.equal(d.stats().compactions, 1);
      assert.deepEqual(JSON.parse(await readFile(join(dir, ACCOUNTS), "utf8")), { [u.id]: fullAccount(u.id) });
      // After the rotation: a change of u (its TOTP step used) and a new record for v, in journal generation 2.
      await d.updateAccount(
        u.id,
        (cur) => ({ account: { ...cur, totp: { ...cur.totp!, last_step: cur.totp!.last_step! + 1 } }, result: null }),
      );
      await d.updateAccount(v.id, (cur) => ({ account: { ...cur, email_verified: true }, result: null }));
      assert.ok((await readdir(dir)).includes(".db_journal.2.jsonl"));
      const expected = [await d.getAccount(u.id), await d.getAccount(v.id)];
      assert.equal(expected[0]?.totp?.last_step, 58_000_001);
      // Reopened from the snapshot plus journal 2, without the close's rewrite: copy the folder as it is now.
      const copy = await tempDir();
      for (const f of await readdir(dir)) {
        if (f.startsWith(".db_") && !f.includes("lock")) await writeFile(join(copy, f), await readFile(join(dir, f)));
      }
      await d.close();
      for (const where of [dir, copy]) {
        const again = await openOn(where);
        assert.deepEqual([await again.getAccount(u.id), await again.getAccount(v.id)], expected, where);
        await again.close();
      }
      await removeDir(copy);
    } finally {
      await removeDir(dir);
    }
  });

  it("loads an accounts file written before the new fields, with their empty values, and writes them back whole", async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir, ".db_User.json"), ORIGINAL_USERS);
      await writeFile(
        join(dir, ACCOUNTS),
        '{"u1": {"user_id": "u1", "admin_granted_at": "2025-01-01T00:00:00", "admin_email": "bob@hbtn.io"}}',
      );
      const d = await openOn(dir);
      const old = { ...emptyAccount("u1"), admin_granted_at: "2025-01-01T00:00:00", admin_email: "bob@hbtn.io" };
      assert.deepEqual(await d.getAccount("u1"), old);
      assert.deepEqual(await d.listAccounts(), [old]);
      const seen = await d.updateAccount("u1", (cur) => ({ account: { ...cur, email_verified: true }, result: cur }));
      assert.deepEqual(seen, old);
      await d.close();
      assert.deepEqual(JSON.parse(await readFile(join(dir, ACCOUNTS), "utf8")), { u1: { ...old, email_verified: true } });
    } finally {
      await removeDir(dir);
    }
  });
});
