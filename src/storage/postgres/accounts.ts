import { UserGoneError } from "../../domain/errors.ts";
import { type AccountRecord, accountRecord } from "../../domain/accounts.ts";
import type { StorageDriver } from "../driver.ts";
import { checkText, type Run, type Sql, sqlState } from "./query.ts";

type AccountRow = { user_id: string; admin_granted_at: string | null; admin_email: string | null };

/** The account records of the PostgreSQL driver: the `accounts` table (schema.ts, migration 2). */
export function accountMethods(sql: Sql, run: Run): Pick<StorageDriver, "getAccount" | "putAccount" | "listAccounts"> {
  return {
    async getAccount(userId) {
      const rows = await run("read an account", () =>
        sql<AccountRow[]>`
        select user_id, admin_granted_at, admin_email from accounts where user_id = ${userId}`);
      return rows.length ? accountRecord(rows[0]) : null;
    },

    async putAccount(account) {
      const a: AccountRecord | null = accountRecord(account);
      if (!a) throw new UserGoneError(account.user_id);
      checkText("update", [a.user_id, a.admin_granted_at, a.admin_email]);
      // The foreign key checks the user in the same statement: a grant racing
      // the user's deletion either lands first and goes with the user, or fails.
      await run(
        "store an account",
        () =>
          sql`
        insert into accounts (user_id, admin_granted_at, admin_email) values (${a.user_id}, ${a.admin_granted_at}, ${a.admin_email})
        on conflict (user_id) do update set admin_granted_at = excluded.admin_granted_at, admin_email = excluded.admin_email`,
        { answer: (e) => (sqlState(e) === "23503" ? new UserGoneError(a.user_id) : undefined) },
      );
    },

    async listAccounts() {
      const rows = await run("list the accounts", () =>
        sql<AccountRow[]>`
        select user_id, admin_granted_at, admin_email from accounts order by user_id`);
      return rows.flatMap((r) => {
        const a = accountRecord(r);
        return a ? [a] : [];
      });
    },
  };
}
