import { canonicalSession, canonicalUser, type SessionLifetime, type SessionRecord, type UserRecord } from "../../domain/records.ts";
import type { ImportOptions, ImportSummary } from "../driver.ts";
import { type Counts, planSessions, planUsers as planImportedUsers } from "../import-rules.ts";
import { checkText, type Run, type Sql, sqlState, type Tx } from "./query.ts";
import { emailKey } from "./rows.ts";

/**
 * Imports of the original's records into PostgreSQL: one transaction, so
 * an import stopped midway (Ctrl-C, kill -9, a lost connection) leaves
 * nothing behind and nothing to complete. Rows go in by a few thousand per
 * statement (arrays unnested server-side: one round trip per chunk, order
 * kept, so storage order is the source's).
 */

const CHUNK = 5000;
/** Imports take this lock (inside their transaction): servers starting together on an empty database import once. */
const IMPORT_LOCK = "7461920114";

/** Arrays go to the server as text arrays (postgres.js types them from their first element, not from the cast). */
const bool = (b: boolean) => (b ? "t" : "f");

type Planned = { user: UserRecord; key: string; duplicate: boolean };

/**
 * Imports users then sessions (see `StorageDriver.importRecords` for what
 * is kept and what is skipped). A concurrent sign-up of an email being
 * imported, or the deletion of a user whose sessions are being imported,
 * makes the transaction fail on a constraint: it is then run again from
 * the start, and skips what it must.
 */
export async function importRecords(
  sql: Sql,
  run: Run,
  deadlineMs: number,
  users: UserRecord[],
  sessions: SessionRecord[],
  lifetime: SessionLifetime,
  o: ImportOptions,
  now: () => number,
): Promise<ImportSummary> {
  for (const u of users) checkText("create", Object.values(u), `user ${u.id}`);
  for (const s of sessions) checkText("create", Object.values(s), `session ${s.id}`);
  return await run("import records", () => sql.begin((tx) => importIn(tx, users, sessions, lifetime, o, now)), {
    deadlineMs,
    retry: (e) => ["23505", "23503"].includes(sqlState(e)),
  });
}

async function importIn(
  tx: Tx,
  users: UserRecord[],
  sessions: SessionRecord[],
  lifetime: SessionLifetime,
  o: ImportOptions,
  now: () => number,
): Promise<ImportSummary> {
  // A large import, or one waiting for another process's (servers starting
  // together on one data folder), may take longer than the 5 s a request's
  // statement may: the caller's deadline bounds it instead.
  await tx`set local statement_timeout = 0`;
  await tx`select pg_advisory_xact_lock(${IMPORT_LOCK}::bigint)`;
  const { planned, conflicted, counts } = await planUsers(tx, users);
  for (let i = 0; i < planned.length; i += CHUNK) {
    const part = planned.slice(i, i + CHUNK);
    const col = <K extends keyof UserRecord>(k: K) => part.map((p) => p.user[k]);
    await tx`
      insert into users (id, created_at, updated_at, email, password, first_name, last_name, email_key, legacy_duplicate)
      select id, created_at, updated_at, email, password, first_name, last_name, email_key, legacy_duplicate
      from unnest(${col("id")}::text[], ${col("created_at")}::text[], ${col("updated_at")}::text[], ${col("email")}::text[],
        ${col("_password")}::text[], ${col("first_name")}::text[], ${col("last_name")}::text[], ${part.map((p) => p.key)}::text[],
        ${part.map((p) => bool(p.duplicate))}::text[]::boolean[])
        with ordinality as r(id, created_at, updated_at, email, password, first_name, last_name, email_key, legacy_duplicate, ord)
      order by ord`;
    o.onProgress?.({ phase: "users", done: Math.round(((i + part.length) / planned.length) * users.length), total: users.length });
  }
  if (!planned.length) o.onProgress?.({ phase: "users", done: users.length, total: users.length });
  return { users: counts, sessions: await importSessions(tx, sessions, conflicted, lifetime, o, now) };
}

/**
 * Which users go in (the shared rules, over what the database holds of the
 * source's ids and emails), and which of them are legacy duplicates.
 */
async function planUsers(tx: Tx, users: UserRecord[]) {
  const sourceIds = new Set(users.map((u) => u.id));
  const keys = [...new Set(users.map((u) => emailKey(u.email)))];
  const stored = new Set((await tx<{ id: string }[]>`select id from users where id = any(${[...sourceIds]}::text[])`).map((r) => r.id));
  const holders = await tx<{ id: string; email_key: string }[]>`select id, email_key from users where email_key = any(${keys}::text[])`;
  const byKey = new Map<string, string[]>();
  for (const h of holders) {
    const ids = byKey.get(h.email_key);
    if (ids) ids.push(h.id);
    else byKey.set(h.email_key, [h.id]);
  }
  const plan = planImportedUsers(users.map(canonicalUser), {
    hasUser: (id) => stored.has(id),
    emailHolders: (email) => byKey.get(emailKey(email)) ?? [],
  }, sourceIds);
  // An email already held (by the source's own users: an earlier run) or
  // taken earlier in this one is a legacy duplicate.
  const taken = new Set(holders.map((h) => h.email_key));
  const planned: Planned[] = plan.add.map((user) => {
    const key = emailKey(user.email);
    const duplicate = taken.has(key);
    taken.add(key);
    return { user, key, duplicate };
  });
  return { planned, conflicted: plan.conflicted, counts: plan.counts };
}

/**
 * Sessions, by the shared rules: the database says which hashes it holds
 * and which users exist (a session must name one: a foreign key).
 */
async function importSessions(
  tx: Tx,
  sessions: SessionRecord[],
  conflicted: Set<string>,
  lifetime: SessionLifetime,
  o: ImportOptions,
  now: () => number,
): Promise<Counts> {
  const canonical = sessions.map(canonicalSession);
  const hashes = [...new Set(canonical.map((s) => s.session_id))];
  const stored = new Set(
    (await tx<{ token_hash: string }[]>`select token_hash from sessions where token_hash = any(${hashes}::text[])`).map((r) =>
      r.token_hash
    ),
  );
  const userIds = [...new Set(canonical.map((s) => s.user_id))];
  const known = new Set((await tx<{ id: string }[]>`select id from users where id = any(${userIds}::text[])`).map((r) => r.id));
  const plan = planSessions(canonical, { hasSession: (h) => stored.has(h), hasUser: (id) => known.has(id) }, conflicted, {
    lifetime,
    now: now(),
  });
  const keep = plan.add.map(({ session, end }) => ({ s: session, end }));
  const counts: Counts = { imported: 0, skipped: plan.counts.skipped };
  for (let i = 0; i < keep.length; i += CHUNK) {
    const part = keep.slice(i, i + CHUNK);
    const col = <K extends keyof SessionRecord>(k: K) => part.map(({ s }) => s[k] ?? null);
    await tx`
      insert into sessions (token_hash, id, user_id, created_at, updated_at, last_seen_at, expires_at, ip, user_agent, has_ip, has_user_agent)
      select * from unnest(${col("session_id")}::text[], ${col("id")}::text[], ${col("user_id")}::text[], ${col("created_at")}::text[],
        ${col("updated_at")}::text[], ${col("last_seen_at")}::text[], ${
      part.map(({ end }) => (end === null ? null : new Date(end).toISOString()))
    }::text[]::timestamptz[],
        ${col("ip")}::text[], ${col("user_agent")}::text[], ${part.map(({ s }) => bool(s.ip !== undefined))}::text[]::boolean[],
        ${part.map(({ s }) => bool(s.user_agent !== undefined))}::text[]::boolean[])`;
    counts.imported += part.length;
    o.onProgress?.({ phase: "sessions", done: Math.round(((i + part.length) / keep.length) * sessions.length), total: sessions.length });
  }
  if (!keep.length) o.onProgress?.({ phase: "sessions", done: sessions.length, total: sessions.length });
  return counts;
}
