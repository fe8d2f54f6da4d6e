import { StorageUnavailableError, UserGoneError } from "../../domain/errors.ts";
import { canonicalSession, sessionEnd, type SessionLifetime, type SessionRecord } from "../../domain/records.ts";
import type { StorageDriver } from "../driver.ts";
import { createReadBatcher } from "../read-batcher.ts";
import { checkText, type Run, type Sql, sqlState } from "./query.ts";
import { expiry, type SessionRow, toSession, toUser, type UserRow } from "./rows.ts";

type SessionMethods = Pick<
  StorageDriver,
  | "getSession"
  | "getSessionAndUser"
  | "createSession"
  | "touchSession"
  | "deleteUserSessions"
  | "listUserSessions"
  | "deleteExpiredSessions"
  | "deleteSession"
  | "listSessions"
>;

type Joined = Partial<SessionRow> & { u_id: string | null; u_created_at: string; u_updated_at: string } & {
  u_email: string | null;
  u_password: string | null;
  u_first_name: string | null;
  u_last_name: string | null;
};

/**
 * The session methods of the PostgreSQL driver. A session past its
 * `expires_at` is never served, whether or not the sweep has removed it
 * yet: every read compares it with `now()` (the driver's clock, so tests
 * need not sleep).
 */
export function sessionMethods(sql: Sql, run: Run, now: () => number, deadlineMs: number, readsInFlight = 1): SessionMethods {
  const at = () => new Date(now());
  // The hot path of session authentication: one statement for a batch of
  // (token hash, user id) pairs asked for together (see read-batcher.ts),
  // each answered with its live session and the user it names. One batch
  // out at a time makes the batches larger: session GET on PostgreSQL ÷ on
  // memory measured 0.58-0.76 with one, 0.46-0.58 with two (same machine).
  const readPairs = createReadBatcher<[string, string], Joined | undefined>({
    id: ([h, u]) => `${h}\u0000${u}`,
    maxBatch: 256,
    maxInFlight: readsInFlight,
    // A request waiting behind reads of a PostgreSQL that stopped answering gets its 503 in time too.
    timeoutMs: deadlineMs,
    timeoutError: () => new StorageUnavailableError(`PostgreSQL did not answer within ${deadlineMs} ms (read a session and its user)`),
    async readMany(pairs) {
      const t = at();
      const rows = await run("read a session and its user", () =>
        sql<(Joined & { k: number })[]>`
        select k.k, s.token_hash, s.id, s.user_id, s.created_at, s.updated_at, s.last_seen_at, s.ip, s.user_agent, s.has_ip,
          s.has_user_agent, u.id as u_id, u.created_at as u_created_at, u.updated_at as u_updated_at, u.email as u_email,
          u.password as u_password, u.first_name as u_first_name, u.last_name as u_last_name
        from unnest(${sql.array(pairs.map((p) => p[0]))}::text[], ${sql.array(pairs.map((p) => p[1]))}::text[])
          with ordinality as k(h, uid, k)
        left join sessions s on s.token_hash = k.h and (s.expires_at is null or s.expires_at >= ${t})
        left join users u on u.id = k.uid`);
      const out: (Joined | undefined)[] = new Array(pairs.length);
      for (const r of rows) out[Number(r.k) - 1] = r;
      return out;
    },
  });
  return {
    async getSession(tokenHash) {
      const t = at();
      const rows = await run("read a session", () =>
        sql<SessionRow[]>`
        select token_hash, id, user_id, created_at, updated_at, last_seen_at, ip, user_agent, has_ip, has_user_agent
        from sessions where token_hash = ${tokenHash} and (expires_at is null or expires_at >= ${t})`);
      return rows.length ? toSession(rows[0]) : null;
    },

    async getSessionAndUser(tokenHash, userIdHint) {
      // PostgreSQL text cannot hold NUL: no such key is stored, and one in a batch would fail the others' reads.
      if (tokenHash.includes("\0") || userIdHint.includes("\0")) return { session: null, user: null };
      const r = await readPairs([tokenHash, userIdHint]);
      if (!r) return { session: null, user: null };
      const user: UserRow | null = r.u_id === null ? null : {
        id: r.u_id,
        created_at: r.u_created_at,
        updated_at: r.u_updated_at,
        email: r.u_email,
        password: r.u_password,
        first_name: r.u_first_name,
        last_name: r.u_last_name,
      };
      return { session: r.token_hash ? toSession(r as SessionRow) : null, user: user && toUser(user) };
    },

    async createSession(session, expiresAt) {
      const s = canonicalSession(session);
      checkText("create", [s.id, s.created_at, s.updated_at, s.user_id, s.session_id, s.last_seen_at, s.ip, s.user_agent]);
      // The foreign key checks the user in the same statement (and holds
      // it until commit): a login racing the user's deletion either lands
      // first and is deleted with the user, or fails here.
      await run(
        "create a session",
        () =>
          sql`
        insert into sessions (token_hash, id, user_id, created_at, updated_at, last_seen_at, expires_at, ip, user_agent, has_ip, has_user_agent)
        values (${s.session_id}, ${s.id}, ${s.user_id}, ${s.created_at}, ${s.updated_at}, ${s.last_seen_at ?? null}, ${expiry(expiresAt)},
          ${s.ip ?? null}, ${s.user_agent ?? null}, ${s.ip !== undefined}, ${s.user_agent !== undefined})`,
        { answer: (e) => (sqlState(e) === "23503" ? new UserGoneError(s.user_id) : undefined) },
      );
    },

    async touchSession(tokenHash, lastSeenAt, expiresAt) {
      const t = at();
      // Only a live session is touched: a use racing a logout does not bring it back.
      await run("record a session's use", () =>
        sql`
        update sessions set last_seen_at = ${lastSeenAt}, expires_at = ${expiry(expiresAt)}
        where token_hash = ${tokenHash} and (expires_at is null or expires_at >= ${t})`);
    },

    async deleteUserSessions(userId, except) {
      const t = at();
      const [{ n }] = await run("end a user's sessions", () =>
        sql<{ n: number }[]>`
        with gone as (delete from sessions where user_id = ${userId} and token_hash is distinct from ${except} returning expires_at)
        select (count(*) filter (where expires_at is null or expires_at >= ${t}))::int as n from gone`);
      return n;
    },

    async listUserSessions(userId) {
      const t = at();
      const rows = await run("list a user's sessions", () =>
        sql<SessionRow[]>`
        select token_hash, id, user_id, created_at, updated_at, last_seen_at, ip, user_agent, has_ip, has_user_agent
        from sessions where user_id = ${userId} and (expires_at is null or expires_at >= ${t})`);
      return rows.map(toSession);
    },

    async deleteExpiredSessions(lifetime, nowMs) {
      const t = new Date(nowMs);
      const swept = await run("delete expired sessions", () => sql`delete from sessions where expires_at < ${t}`);
      return swept.count + (await sweepUnlimited(sql, run, lifetime, nowMs));
    },

    async deleteSession(tokenHash) {
      const t = at();
      // An expired session not swept yet is removed too, but reported absent, as reads report it.
      const rows = await run("delete a session", () =>
        sql<{ live: boolean }[]>`
        delete from sessions where token_hash = ${tokenHash} returning (expires_at is null or expires_at >= ${t}) as live`);
      return rows.length > 0 && rows[0].live;
    },

    async listSessions() {
      const t = at();
      const rows = await run("list the sessions", () =>
        sql<SessionRow[]>`
        select token_hash, id, user_id, created_at, updated_at, last_seen_at, ip, user_agent, has_ip, has_user_agent
        from sessions where expires_at is null or expires_at >= ${t}`);
      return rows.map(toSession);
    },
  };
}

/**
 * Sessions stored without an end (made while no lifetime was configured)
 * still end under the lifetime configured now, as every read already
 * judges them: the sweep removes those past it. Their timestamps are the
 * records' text, so the rule is applied here rather than in SQL; such rows
 * only exist after the configuration changed.
 */
async function sweepUnlimited(sql: Sql, run: Run, lifetime: SessionLifetime, nowMs: number): Promise<number> {
  if (lifetime.absolute <= 0 && lifetime.idle <= 0) return 0;
  const rows = await run(
    "read sessions without an end",
    () =>
      sql<{ token_hash: string; created_at: string; last_seen_at: string | null }[]>`
    select token_hash, created_at, last_seen_at from sessions where expires_at is null`,
  );
  const past = rows.filter((r) => {
    const s: SessionRecord = { id: "", created_at: r.created_at, updated_at: r.created_at, user_id: "", session_id: r.token_hash };
    if (r.last_seen_at !== null) s.last_seen_at = r.last_seen_at;
    const end = sessionEnd(s, lifetime);
    return end !== null && end < nowMs;
  }).map((r) => r.token_hash);
  if (!past.length) return 0;
  const gone = await run(
    "delete expired sessions",
    () => sql`delete from sessions where token_hash = any(${past}::text[]) and expires_at is null`,
  );
  return gone.count;
}
