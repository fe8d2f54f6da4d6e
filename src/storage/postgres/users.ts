import { DuplicateEmailError } from "../../domain/errors.ts";
import { canonicalUser } from "../../domain/records.ts";
import type { StorageDriver } from "../driver.ts";
import { checkText, constraintOf, type Run, type Sql, sqlState } from "./query.ts";
import { emailKey, toUser, type UserRow } from "./rows.ts";

type UserMethods = Pick<
  StorageDriver,
  "listUsers" | "countUsers" | "getUser" | "findUserByEmail" | "emailHolders" | "createUser" | "updateUser" | "deleteUser" | "isEmpty"
>;

const emailTaken = (e: unknown) => sqlState(e) === "23505" && constraintOf(e) === "users_email_unique";

/** The user methods of the PostgreSQL driver: one statement each (see schema.ts for the columns). */
export function userMethods(sql: Sql, run: Run): UserMethods {
  return {
    async listUsers() {
      const rows = await run("list the users", () =>
        sql<UserRow[]>`
        select id, created_at, updated_at, email, password, first_name, last_name from users order by seq`);
      return rows.map(toUser);
    },

    async countUsers() {
      const [{ n }] = await run("count the users", () => sql<{ n: number }[]>`select count(*)::int as n from users`);
      return n;
    },

    async getUser(id) {
      const rows = await run("read a user", () =>
        sql<UserRow[]>`
        select id, created_at, updated_at, email, password, first_name, last_name from users where id = ${id}`);
      return rows.length ? toUser(rows[0]) : null;
    },

    async findUserByEmail(email) {
      // The index holds every user of the case-insensitive key in storage
      // order; the first exact match wins (legacy duplicates of the original).
      const rows = await run("find a user by email", () =>
        sql<UserRow[]>`
        select id, created_at, updated_at, email, password, first_name, last_name from users
        where email_key = ${emailKey(email)} and email = ${email} order by seq limit 1`);
      return rows.length ? toUser(rows[0]) : null;
    },

    async emailHolders(email) {
      const rows = await run("find the users of an email", () =>
        sql<{ id: string }[]>`
        select id from users where email_key = ${emailKey(email)} order by seq`);
      return rows.map((r) => r.id);
    },

    async createUser(user) {
      const u = canonicalUser(user);
      checkText("create", Object.values(u));
      const key = emailKey(u.email);
      // Inserted only where no user has the email, legacy duplicates
      // included; the unique index settles two creates racing each other:
      // the second waits for the first to commit, then fails.
      const rows = await run(
        "create a user",
        () =>
          sql`
        insert into users (id, created_at, updated_at, email, password, first_name, last_name, email_key)
        select ${u.id}, ${u.created_at}, ${u.updated_at}, ${u.email}, ${u._password}, ${u.first_name}, ${u.last_name}, ${key}
        where not exists (select 1 from users where email_key = ${key})
        returning seq`,
        { answer: (e) => (emailTaken(e) ? new DuplicateEmailError() : undefined) },
      );
      if (!rows.length) throw new DuplicateEmailError();
    },

    async updateUser(user) {
      const u = canonicalUser(user);
      checkText("update", Object.values(u));
      const key = emailKey(u.email);
      // An unchanged email keeps its row's place among legacy duplicates. A
      // changed one must be free: the row is updated only when no other row
      // has the new email, and two moves racing into one free email conflict
      // on the unique index, so the second runs again and finds it taken.
      const result = await run(
        "update a user",
        () =>
          sql`
        update users set created_at = ${u.created_at}, updated_at = ${u.updated_at}, email = ${u.email}, password = ${u._password},
          first_name = ${u.first_name}, last_name = ${u.last_name},
          legacy_duplicate = case when email_key = ${key} then legacy_duplicate else false end,
          email_key = ${key}
        where id = ${u.id}
          and (email_key = ${key} or not exists (select 1 from users o where o.email_key = ${key} and o.id <> ${u.id}))`,
        { retry: emailTaken },
      );
      if (result.count > 0) return true;
      // Nothing updated: the user is gone, or the new email is taken.
      const [still] = await run("update a user", () => sql`select 1 as one from users where id = ${u.id}`);
      if (still) throw new DuplicateEmailError();
      return false;
    },

    async deleteUser(id) {
      // Its sessions go in the same statement (on delete cascade).
      const result = await run("delete a user", () => sql`delete from users where id = ${id}`);
      return result.count > 0;
    },

    async isEmpty() {
      const [{ empty }] = await run("read the store", () =>
        sql<{ empty: boolean }[]>`
        select not exists (select 1 from users) and not exists (select 1 from sessions) as empty`);
      return empty;
    },
  };
}
