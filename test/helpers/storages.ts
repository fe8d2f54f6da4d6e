import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StorageDriver } from "../../src/storage/driver.ts";
import { createMemoryDriver } from "../../src/storage/memory/index.ts";
import { openFileDriver } from "../../src/storage/file/index.ts";
import { openKvStore } from "../../src/storage/kv/open.ts";
import { createKvDriver } from "../../src/storage/kv/index.ts";
import { openPostgres } from "../../src/storage/postgres/connect.ts";
import { createPostgresDriver } from "../../src/storage/postgres/index.ts";
import { createDatabase, SERVER_URL, type TestDatabase } from "./postgres.ts";

/**
 * A fresh driver of every storage a test should run on, each in its own
 * temporary folder or database (never the checkout), removed after the
 * test file. PostgreSQL joins when DATABASE_URL names a server, as in CI.
 */
export function everyStorage(label: string): Record<string, (now: () => number) => Promise<StorageDriver>> {
  const dirs: string[] = [];
  const databases: TestDatabase[] = [];
  after(async () => {
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
    await Promise.all(databases.map((db) => db.drop()));
  });
  const deno = (globalThis as { Deno?: { openKv(path?: string): Promise<unknown> } }).Deno;
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), `${label}-`));
    dirs.push(dir);
    return dir;
  };
  return {
    memory: () => Promise.resolve(createMemoryDriver()),
    file: () => openFileDriver({ dir: folder(), pid: process.pid, hostname: "test-host" }),
    kv: async (now) => {
      const kv = await openKvStore(join(folder(), "s.kv"), { denoOpenKv: deno ? (p) => deno.openKv(p) : undefined });
      return createKvDriver(kv, { now });
    },
    ...(SERVER_URL
      ? {
        postgres: async (now: () => number) => {
          const db = await createDatabase(label);
          databases.push(db);
          const { sql, target } = await openPostgres(db.url, { poolSize: 4 });
          return createPostgresDriver(sql, { now, location: target.display });
        },
      }
      : {}),
  };
}
