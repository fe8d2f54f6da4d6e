import { StartupError } from "../../domain/errors.ts";
import type { Sql } from "./query.ts";

/**
 * The schema, as numbered migrations the service applies itself at startup.
 *
 * All pending migrations run in one transaction that first takes a
 * transaction-scoped advisory lock: of several processes starting at once
 * (any runtime), one migrates while the others wait, then find nothing left
 * to do. A failing migration rolls the whole batch back. A database whose
 * schema is newer than this code is refused: an older build writing to
 * tables it does not understand could lose what the newer one keeps.
 *
 * A migration, once released, is never edited: changes are new migrations.
 */

export type Migration = { version: number; name: string; sql: string };

/** Any constant, the same in every version of the service: the key of the migration lock. */
const LOCK_KEY = "7461920113";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "users, sessions, counters",
    // Timestamps are kept as the text the records carry (naive UTC
    // `YYYY-MM-DDTHH:MM:SS`, or whatever the original's data files hold):
    // records come back exactly as they were written. `expires_at` is a
    // real timestamptz: it is what reads and the sweep compare.
    //
    // Emails are unique case-insensitively, enforced by the database, yet
    // the original's data files may hold several users with one email, and
    // those must still load. Such legacy duplicates (the second and later
    // users of an email within one imported source) are marked
    // `legacy_duplicate`, and the unique index covers only the other rows:
    // at most one unmarked user per email. A new user is always unmarked and
    // is inserted only where no user of that email exists at all (see
    // createUser), so a new duplicate is refused even once the first of a
    // legacy pair is deleted. `email_key` is the lower-cased email computed
    // as every other driver computes it (JavaScript's toLowerCase), not
    // lower(), whose result depends on the database's locale; very long
    // emails are keyed by their SHA-256 (an index entry holds ~2.7 kB).
    sql: `
      create table users (
        seq bigint generated always as identity,
        id text primary key,
        created_at text not null,
        updated_at text not null,
        email text,
        password text,
        first_name text,
        last_name text,
        email_key text not null,
        legacy_duplicate boolean not null default false
      );
      create unique index users_seq on users (seq);
      create unique index users_email_unique on users (email_key) where not legacy_duplicate;
      create index users_email_key on users (email_key, seq);

      create table sessions (
        token_hash text primary key,
        id text not null,
        user_id text not null references users (id) on delete cascade,
        created_at text not null,
        updated_at text not null,
        last_seen_at text,
        expires_at timestamptz,
        ip text,
        user_agent text,
        has_ip boolean not null default false,
        has_user_agent boolean not null default false
      );
      create index sessions_user_id on sessions (user_id);
      create index sessions_expires_at on sessions (expires_at) where expires_at is not null;

      create table counters (
        key text primary key,
        value jsonb,
        expires_at timestamptz not null
      );
      create index counters_expires_at on counters (expires_at);`,
  },
  {
    version: 2,
    name: "accounts",
    // Our per-user state, beside the users table whose columns mirror the
    // original's record. Later state comes as new columns of this table.
    // Deleting a user deletes its row (on delete cascade), in the same
    // statement.
    sql: `
      create table accounts (
        user_id text primary key references users (id) on delete cascade,
        admin_granted_at text,
        admin_email text
      );`,
  },
  {
    version: 3,
    name: "account state: verified address, one-time tokens, second factors",
    // email_verified is a column of its own (null: never tracked). The
    // tokens, the TOTP factor and the passkeys are jsonb: small nested
    // records that are only ever read and written whole, through the one
    // shape check every driver uses (accountRecord), inside updateAccount's
    // locked read-change-write; no query looks inside them, so columns or
    // child tables would only add joins and a second copy of the shape.
    // Rows written before this migration get the empty values.
    sql: `
      alter table accounts
        add column email_verified boolean,
        add column tokens jsonb not null default '[]',
        add column totp jsonb,
        add column passkeys jsonb not null default '[]';`,
  },
];

/** What a call to `migrate` found and did. */
export type MigrationResult = { from: number; to: number; applied: number[] };

/**
 * Brings the schema up to date (see the module comment). Throws
 * `StartupError` when the database is newer than `migrations` know.
 *
 * @example await migrate(sql, "db.internal:5432/auth")
 */
export async function migrate(sql: Sql, where: string, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const latest = migrations.length;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY}::bigint)`;
    // Created under the lock: two concurrent "create table if not exists" can both try and one fail.
    await tx`create table if not exists schema_version (
      version int primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`;
    const [{ v }] = await tx<{ v: number }[]>`select coalesce(max(version), 0)::int as v from schema_version`;
    if (v > latest) {
      throw new StartupError(
        `The PostgreSQL database ${where} has schema version ${v}, newer than this version of the service knows (${latest}): ` +
          `run a newer version of the service, or point DATABASE_URL at another database`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations.slice(v)) {
      // No parameters: sent as a simple query, which may hold several statements.
      await tx.unsafe(m.sql);
      await tx`insert into schema_version (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return { from: v, to: latest, applied };
  });
}
