import type postgres from "postgres";
import { StartupError } from "../../domain/errors.ts";
import { describeDbError, type Sql } from "./query.ts";
import { migrate, type Migration, type MigrationResult } from "./schema.ts";
import { type DatabaseTarget, parseDatabaseUrl } from "./url.ts";

/**
 * Connecting to PostgreSQL with postgres.js, the one client that runs
 * unchanged on Node, on Deno (through `npm:`) and on Bun. Kept apart from
 * the driver: only this file loads the package, and only when
 * STORAGE=postgres (a dynamic import, which Node's startup bundle keeps
 * dynamic too).
 */

export type OpenPostgresOptions = {
  /** Connections at most in the pool. */
  poolSize: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** The server ends a statement running longer (default 5 s). */
  statementTimeoutMs?: number;
  /** How long startup may wait for the server (connect, migrate); default 10 s. */
  startupMs?: number;
  /** Tests: another list of migrations. */
  migrations?: readonly Migration[];
};

export type OpenedPostgres = { sql: Sql; target: DatabaseTarget; migration: MigrationResult };

/**
 * A pool with options chosen to fail fast and recover alone:
 * - `connect_timeout`: a server that does not answer a connection fails it after 2 s;
 * - `backoff`: postgres.js waits before reconnecting after a failure, by
 *   default up to 20 s, and queries issued meanwhile wait with it (measured:
 *   18 s requests during a 6 s outage); capped at half a second, every query
 *   during an outage failed within milliseconds, and the first after the
 *   server's return succeeded;
 * - `statement_timeout`, `idle_in_transaction_session_timeout`: the server
 *   ends what a client left running;
 * - `idle_timeout`, `max_lifetime`: idle connections close, old ones are renewed;
 * - prepared statements (`prepare: true`): one round trip per query.
 * TLS and other connection settings come from the URL (`?sslmode=require`).
 */
function createPool(connect: typeof postgres, url: string, o: OpenPostgresOptions): Sql {
  return connect(url, {
    max: o.poolSize,
    connect_timeout: 2,
    idle_timeout: 30,
    max_lifetime: 30 * 60,
    keep_alive: 10,
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5),
    prepare: true,
    onnotice: () => {},
    connection: {
      application_name: o.applicationName ?? "session-auth-api",
      statement_timeout: o.statementTimeoutMs ?? 5000,
      idle_in_transaction_session_timeout: 10_000,
    },
  });
}

/**
 * Opens a pool on `url` and brings the schema up to date, which is also
 * the first read of the database: a refused connection, a wrong password, a
 * missing database or a server that does not answer fail here, at startup,
 * with a `StartupError` naming host, port and database and the cause (never
 * the password).
 *
 * @example const { sql, target } = await openPostgres(process.env.DATABASE_URL!, { poolSize: 5 });
 */
export async function openPostgres(url: string, o: OpenPostgresOptions): Promise<OpenedPostgres> {
  let target: DatabaseTarget;
  try {
    target = parseDatabaseUrl(url);
  } catch (e) {
    throw new StartupError((e as Error).message);
  }
  const fail = (why: string) => new StartupError(`Cannot open PostgreSQL database ${target.display}: ${why}`);
  let sql: Sql;
  try {
    const { default: connect } = await import("postgres");
    sql = createPool(connect, url, o);
  } catch (e) {
    throw fail(describeDbError(e));
  }
  const ms = o.startupMs ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const migration = await Promise.race([
      migrate(sql, target.display, o.migrations),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(fail(`no answer within ${ms / 1000} s`)), ms))),
    ]);
    return { sql, target, migration };
  } catch (e) {
    await sql.end({ timeout: 0 }).catch(() => {});
    if (e instanceof StartupError) throw e;
    // A server without TLS hangs up on a client that asks for it.
    const tls = /[?&]sslmode=(require|verify-ca|verify-full)/.test(url) && (e as { code?: string }).code === "ECONNRESET";
    throw fail(describeDbError(e) + (tls ? " (the URL asks for TLS: does the server offer it?)" : ""));
  } finally {
    clearTimeout(timer);
  }
}
