import { UserGoneError } from "../../domain/errors.ts";
import { type AccountRecord, accountRecord } from "../../domain/accounts.ts";
import type { StorageDriver } from "../driver.ts";
import { accountKey, keyable, type StoredUser, userKey } from "./layout.ts";
import { CONFLICT, type KvStore, retry } from "./store.ts";

/**
 * The account records of the KV driver, one key per user (`["accounts", id]`).
 * deleteUser removes the record in the same atomic operation as the user.
 */
export function accountMethods(db: KvStore): Pick<StorageDriver, "getAccount" | "putAccount" | "listAccounts"> {
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
        // meanwhile makes this commit fail, re-read, and find the user gone,
        // so no account record outlives its user.
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
  };
}
