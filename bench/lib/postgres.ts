import { spawnSync } from "node:child_process";
import process from "node:process";
import postgres from "postgres";
import { onCleanup, ROOT } from "./procs.ts";

/**
 * The PostgreSQL the bench measures on: the server DATABASE_URL names (by
 * default the local one), in a database of its own created for the run and
 * dropped afterwards, even on Ctrl-C.
 */
export const BENCH_SERVER_URL = process.env.DATABASE_URL?.trim() || "postgres://postgres@127.0.0.1:5432/postgres";

export type BenchDatabase = {
  url: string;
  /** Pids of the server processes (backends) serving the service's connections to this database. */
  backendPids: () => Promise<number[]>;
  drop: () => Promise<void>;
};

const admin = () => postgres(BENCH_SERVER_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });

/** Creates a fresh database; throws when PostgreSQL cannot be reached (the bench then reports it as not measured). */
export async function benchDatabase(): Promise<BenchDatabase> {
  const name = `sa_bench_${process.pid}_${crypto.randomUUID().slice(0, 8)}`;
  const sql = admin();
  try {
    await sql.unsafe(`create database "${name}"`);
  } catch (e) {
    throw new Error(`PostgreSQL at ${new URL(BENCH_SERVER_URL).host} cannot be used: ${(e as Error).message} (set DATABASE_URL)`);
  } finally {
    await sql.end({ timeout: 0 });
  }
  const url = new URL(BENCH_SERVER_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  // Synchronous, for an exit handler: a child node process drops it.
  onCleanup(() => {
    if (dropped) return;
    const script = `const p = require("postgres")(process.argv[1], { max: 1, onnotice() {} });
      p.unsafe('drop database if exists "${name}" with (force)').finally(() => p.end({ timeout: 0 }));`;
    spawnSync(process.execPath, ["-e", script, BENCH_SERVER_URL], { cwd: ROOT, timeout: 10_000, stdio: "ignore" });
  });
  return {
    url: url.toString(),
    async backendPids() {
      const s = admin();
      try {
        return (await s`select pid from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`).map((r) => Number(r.pid));
      } finally {
        await s.end({ timeout: 0 });
      }
    },
    async drop() {
      const s = admin();
      try {
        await s.unsafe(`drop database if exists "${name}" with (force)`);
        dropped = true;
      } finally {
        await s.end({ timeout: 0 });
      }
    },
  };
}
