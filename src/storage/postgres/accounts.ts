import { InvalidInputError, UserGoneError } from "../../domain/errors.ts";
import { type AccountRecord, accountRecord, emptyAccount, withoutExpiredTokens } from "../../domain/accounts.ts";
import type { StorageDriver } from "../driver.ts";
import { type Run, type Sql, sqlState, type Tx } from "./query.ts";

/** An `accounts` row as the queries select it, the jsonb columns as their text. */
type AccountRow = {
  user_id: string;
  admin_granted_at: string | null;
  admin_email: string | null;
  email_verified: boolean | null;
  tokens: string;
  totp: string | null;
  passkeys: string;
};

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const fromRow = (r: AccountRow): AccountRecord | null =>
  accountRecord({ ...r, tokens: parse(r.tokens), totp: parse(r.totp), passkeys: parse(r.passkeys) });

/**
 * The shape-checked record as the values of an `accounts` row. PostgreSQL
 * text and jsonb cannot hold NUL: such a value is refused with a clear
 * reason instead of a storage error.
 */
function toRow(account: AccountRecord): AccountRecord {
  const a = accountRecord(account);
  if (!a) throw new UserGoneError(account.user_id);
  let nul = false;
  JSON.stringify(a, (_, v) => (typeof v === "string" && v.includes("\0") ? (nul = true, v) : v));
  if (nul) throw new InvalidInputError("update", "text with a NUL character cannot be stored");
  return a;
}

const COLUMNS =
  "user_id, admin_granted_at, admin_email, email_verified, tokens::text as tokens, totp::text as totp, passkeys::text as passkeys";

/**
 * A jsonb value, sent as text: a parameter the server types as jsonb would
 * have postgres.js encode the string once more, storing a JSON string.
 */
const json = (v: unknown): string => JSON.stringify(v);

/** Inserts or replaces the row of `a` (the foreign key checks its user in the same statement). */
const upsert = (tx: Sql | Tx, a: AccountRecord) =>
  tx`
  insert into accounts (user_id, admin_granted_at, admin_email, email_verified, tokens, totp, passkeys)
  values (${a.user_id}, ${a.admin_granted_at}, ${a.admin_email}, ${a.email_verified}, ${json(a.tokens)}::text::jsonb,
    ${a.totp === null ? null : json(a.totp)}::text::jsonb, ${json(a.passkeys)}::text::jsonb)
  on conflict (user_id) do update set admin_granted_at = excluded.admin_granted_at, admin_email = excluded.admin_email,
    email_verified = excluded.email_verified, tokens = excluded.tokens, totp = excluded.totp, passkeys = excluded.passkeys`;

const userGone = (id: string) => (e: unknown) => (sqlState(e) === "23503" ? new UserGoneError(id) : undefined);

/** The account records of the PostgreSQL driver: the `accounts` table (schema.ts, migrations 2 and 3). */
export function accountMethods(
  sql: Sql,
  run: Run,
): Pick<StorageDriver, "getAccount" | "putAccount" | "listAccounts" | "updateAccount" | "deleteExpiredTokens"> {
  const methods: ReturnType<typeof accountMethods> = {
    async getAccount(userId) {
      const rows = await run(
        "read an account",
        () => sql<AccountRow[]>`select ${sql.unsafe(COLUMNS)} from accounts where user_id = ${userId}`,
      );
      return rows.length ? fromRow(rows[0]) : null;
    },

    async putAccount(account) {
      const a = toRow(account);
      // A grant racing the user's deletion either lands first and goes with the user, or fails.
      await run("store an account", () => upsert(sql, a), { answer: userGone(a.user_id) });
    },

    async listAccounts() {
      const rows = await run("list the accounts", () => sql<AccountRow[]>`select ${sql.unsafe(COLUMNS)} from accounts order by user_id`);
      return rows.flatMap((r) => {
        const a = fromRow(r);
        return a ? [a] : [];
      });
    },

    async updateAccount(userId, change) {
      // `change` runs inside the transaction; what it throws is passed on as it is, not as a storage failure.
      type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };
      const outcome = await run("update an account", () =>
        sql.begin(async (tx): Promise<Outcome> => {
          // The user's row, locked: updates of one account take turns (even
          // while it has no row yet), and a deletion of the user waits for
          // this transaction, or went first and the user is gone.
          const user = await tx`select 1 from users where id = ${userId} for no key update`;
          if (!user.length) throw new UserGoneError(userId);
          const rows = await tx<AccountRow[]>`select ${tx.unsafe(COLUMNS)} from accounts where user_id = ${userId} for update`;
          let next;
          try {
            next = change((rows.length ? fromRow(rows[0]) : null) ?? emptyAccount(userId));
          } catch (error) {
            return { ok: false, error };
          }
          if (next.account) await upsert(tx, toRow({ ...next.account, user_id: userId }));
          return { ok: true, result: next.result };
        }), { answer: userGone(userId) }) as Outcome;
      if (!outcome.ok) throw outcome.error;
      // postgres.js types a transaction's result as unwrapped arrays; `change` gave exactly a T.
      return outcome.result as ReturnType<typeof change>["result"];
    },

    async deleteExpiredTokens(now) {
      // Expiry is decided by the one parser of timestamps (parseTimestamp),
      // not in SQL; each account is then rewritten under its lock, so a
      // token added or used meanwhile is not undone.
      const rows = await run(
        "list accounts with tokens",
        () => sql<AccountRow[]>`select ${sql.unsafe(COLUMNS)} from accounts where tokens <> '[]'::jsonb`,
      );
      let removed = 0;
      for (const r of rows) {
        const a = fromRow(r);
        if (!a || withoutExpiredTokens(a, now) === a) continue;
        removed += await methods.updateAccount(a.user_id, (cur) => {
          const kept = withoutExpiredTokens(cur, now);
          return kept === cur ? { account: null, result: 0 } : { account: kept, result: cur.tokens.length - kept.tokens.length };
        }).catch((e) => {
          if (e instanceof UserGoneError) return 0;
          throw e;
        });
      }
      return removed;
    },
  };
  return methods;
}
