import type { StorageKind } from "../kind.ts";
import { defaultPoolSize, parseDatabaseUrl } from "./url.ts";

/** A command-line run may move a whole store: ten minutes instead of the 5 s a request's statement gets. */
const BATCH_MS = 10 * 60_000;

/** `STORAGE=postgres`: PostgreSQL at DATABASE_URL, shared by every process on the database. */
export const postgresStorage: StorageKind<"postgres"> = {
  name: "postgres",
  usesDataDir: false,
  holdsDataFiles: false,
  importsDataFiles: true,
  needsDatabaseUrl: true,
  cli: {
    flag: "database-url",
    value: "url",
    settings(where) {
      let hasPassword: boolean;
      try {
        hasPassword = parseDatabaseUrl(where).hasPassword;
      } catch (e) {
        throw new Error(`--database-url: ${(e as Error).message.replace(/^DATABASE_URL /, "the URL ")}`);
      }
      // argv is visible to every user of the machine, and kept in shell history.
      if (hasPassword) {
        throw new Error(
          "--database-url must not hold a password: the command line is visible to every user of this machine; set PGPASSWORD instead",
        );
      }
      return { databaseUrl: where };
    },
  },
  where: (s) => parseDatabaseUrl(s.databaseUrl ?? "").display,
  dataPaths: () => [],
  async open(s, c) {
    const { openPostgres } = await import("./connect.ts");
    const { createPostgresDriver } = await import("./index.ts");
    const { sql, target } = await openPostgres(s.databaseUrl ?? "", {
      poolSize: s.databasePoolSize ?? defaultPoolSize(c.cores ?? 1),
      applicationName: c.batch ? "session-auth-api cli" : "session-auth-api",
      statementTimeoutMs: c.batch ? BATCH_MS : 5000,
    });
    return createPostgresDriver(sql, {
      now: Date.now,
      location: target.display,
      sessionLifetime: s.sessionLifetime,
      deadlineMs: c.batch ? BATCH_MS : undefined,
    });
  },
};
