import type { SessionLifetime, StorageDriver } from "../driver.ts";
import { accountMethods } from "./accounts.ts";
import { createPostgresCounters } from "./counters.ts";
import { importRecords } from "./import.ts";
import { createRunner, type Sql } from "./query.ts";
import { sessionMethods } from "./sessions.ts";
import { userMethods } from "./users.ts";

export type PostgresDriverOptions = {
  /** Current time in ms since the epoch; session expiry is checked against it on every read. */
  now: () => number;
  /** `host:port/database`, for the startup line and the CLI. */
  location: string;
  /** How long imported sessions live (from their `created_at` and `last_seen_at`); absent: no limit. */
  sessionLifetime?: SessionLifetime;
  /**
   * How long one operation may wait for PostgreSQL before it fails with
   * `StorageUnavailableError` (default 1500 ms: a request answers 503
   * within 2 s when the server is frozen or unreachable).
   */
  deadlineMs?: number;
  /** The same for an import, which may move many rows (default 5 minutes). */
  importDeadlineMs?: number;
};

/**
 * The `postgres` storage: users, sessions and the login throttle's counters
 * in PostgreSQL, shared by every process (of any runtime) on the same
 * database. Each method is one statement, or one transaction where it must
 * be several (imports, counters), so a failure leaves nothing
 * half-written; the database's constraints settle races (one user per
 * email, no session without its user). A server that is down, restarting
 * or frozen makes a method fail within `deadlineMs` with
 * `StorageUnavailableError`, and the pool reconnects by itself when it is
 * back. Tables and migrations: schema.ts.
 *
 * @example
 * const { sql, target } = await openPostgres(process.env.DATABASE_URL!, { poolSize: 5 });
 * const driver = createPostgresDriver(sql, { now: Date.now, location: target.display });
 */
export function createPostgresDriver(sql: Sql, options: PostgresDriverOptions): StorageDriver {
  const deadlineMs = options.deadlineMs ?? 1500;
  const run = createRunner(deadlineMs);
  const lifetime = options.sessionLifetime ?? { absolute: 0, idle: 0 };
  let closing: Promise<void> | null = null;
  return {
    kind: "postgres",
    location: options.location,
    counters: createPostgresCounters(sql, run),
    ...userMethods(sql, run),
    ...accountMethods(sql, run),
    ...sessionMethods(sql, run, options.now, deadlineMs),

    importRecords(users, sessions, o) {
      const deadline = options.importDeadlineMs ?? 5 * 60_000;
      return importRecords(sql, run, deadline, users, sessions, lifetime, o ?? { source: "(records)" }, options.now);
    },

    // An import is one transaction: it never stops halfway, so there is never one to complete or undo.
    pendingImport: () => Promise.resolve(null),
    abortImport: () => Promise.resolve(null),

    close() {
      // Queries in flight get 5 s to finish; later ones fail (StorageUnavailableError).
      closing ??= sql.end({ timeout: 5 }).catch(() => {});
      return closing;
    },
  };
}
