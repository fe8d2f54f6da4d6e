import postgres from "postgres";
import process from "node:process";
import { RUNTIME } from "./server.ts";

/**
 * The PostgreSQL the tests use: DATABASE_URL names a server (and a database
 * to connect to first); every test creates databases of its own on it, with
 * random names, and drops them afterwards. Unset: the PostgreSQL tests skip.
 */
export const SERVER_URL: string | null = process.env.DATABASE_URL?.trim() || null;

export const HOW_TO_RUN = "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm test";

/** `url` with another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs `work` on a one-connection pool on `url`, then closes it. */
export async function onServer<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export type TestDatabase = { url: string; name: string; drop: () => Promise<void> };

/**
 * A new, empty database on the server `serverUrl` (default: DATABASE_URL),
 * named after the runtime and process so that concurrent runs never meet.
 */
export async function createDatabase(label: string, serverUrl = SERVER_URL!): Promise<TestDatabase> {
  const name = `sa_${label}_${RUNTIME}_${process.pid}_${crypto.randomUUID().slice(0, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  await onServer(serverUrl, (sql) => sql.unsafe(`create database "${name}"`));
  return {
    url: withDatabase(serverUrl, name),
    name,
    // FORCE: a server a test started may still hold connections.
    drop: () => onServer(serverUrl, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}
