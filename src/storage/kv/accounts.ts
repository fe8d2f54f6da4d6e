import { UserGoneError } from "../../domain/errors.ts";
import { type AccountRecord, accountRecord, emptyAccount, withoutExpiredTokens } from "../../domain/accounts.ts";
import type { StorageDriver } from "../driver.ts";
import { accountKey, keyable, type StoredUser, userKey } from "./layout.ts";
import { CONFLICT, type Entry, type KvStore, retry } from "./store.ts";

/**
 * The account records of the KV driver, one key per user (`["accounts", id]`).
 * Every write checks the user's record unchanged in the same atomic
 * operation, and deleteUser removes the account record together with the
 * user, so no account record outlives its user.
 */
export function accountMethods(
  db: KvStore,
): Pick<StorageDriver, "getAccount" | "putAccount" | "listAccounts" | "updateAccount" | "deleteExpiredTokens"> {
  return {
    async getAccount(userId: string): Promise<AccountRecord | null> {
      if (!keyable(userId)) return null;
      return accountRecord((await db.get<unknown>(accountKey(userId))).value);
    },

    async putAccount(account: AccountRecord): Promise<void> {
      const rec = accountRecord(account);
      if (!rec || !keyable(rec.user_id)) throw new UserGoneError(account.user_id);
      await retry("store an account", async () => {
        const user = await db.get<StoredUser>(userKey(rec.user_id));
        if (!user.value) throw new UserGoneError(rec.user_id);
        // The user's record is checked unchanged: a deletion committed
        // meanwhile makes this commit fail, re-read, and find the user gone.
        const ok = await db.commit([{ key: userKey(rec.user_id), versionstamp: user.versionstamp }], [{
          key: accountKey(rec.user_id),
          value: rec,
        }]);
        return ok === null ? CONFLICT : undefined;
      });
    },

    async listAccounts(): Promise<AccountRecord[]> {
      return (await db.list<unknown>(["accounts"])).flatMap((e) => {
        const a = accountRecord(e.value);
        return a ? [a] : [];
      });
    },

    async updateAccount(userId, change) {
      if (!keyable(userId)) throw new UserGoneError(userId);
      return await retry("update an account", async () => {
        const [user, stored] = (await db.getMany<unknown>([userKey(userId), accountKey(userId)])) as [Entry<StoredUser>, Entry<unknown>];
        if (!user.value) throw new UserGoneError(userId);
        const { account, result } = change(accountRecord(stored.value) ?? emptyAccount(userId));
        if (!account) return { result };
        const rec = accountRecord({ ...account, user_id: userId });
        if (!rec) throw new Error(`updateAccount: the changed account record of ${userId} has an invalid shape`);
        // Both checked: a concurrent update of the record (from any process)
        // makes this commit fail and `change` run again on the fresh record;
        // a deletion of the user makes the re-read find the user gone.
        const ok = await db.commit([
          { key: userKey(userId), versionstamp: user.versionstamp },
          { key: accountKey(userId), versionstamp: stored.versionstamp },
        ], [{ key: accountKey(userId), value: rec }]);
        return ok === null ? CONFLICT : { result };
      }).then((r) => r.result);
    },

    async deleteExpiredTokens(now: number): Promise<number> {
      let removed = 0;
      for (const e of await db.list<unknown>(["accounts"])) {
        const listed = accountRecord(e.value);
        if (!listed || withoutExpiredTokens(listed, now) === listed) continue;
        const userId = listed.user_id;
        removed += await retry("remove expired tokens", async () => {
          const cur = await db.get<unknown>(accountKey(userId));
          const rec = accountRecord(cur.value);
          if (!rec) return 0;
          const kept = withoutExpiredTokens(rec, now);
          if (kept === rec) return 0;
          // Checked: a token added or used meanwhile is not undone.
          const ok = await db.commit([{ key: accountKey(userId), versionstamp: cur.versionstamp }], [{
            key: accountKey(userId),
            value: kept,
          }]);
          return ok === null ? CONFLICT : rec.tokens.length - kept.tokens.length;
        });
      }
      return removed;
    },
  };
}
