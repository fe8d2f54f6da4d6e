import { join, resolve } from "node:path";
import type { Config } from "../app/config.ts";
import { openStorage, type StorageContext } from "../app/open-storage.ts";
import { type ImportContext, importFolder } from "../storage/import.ts";
import { parseDatabaseUrl } from "../storage/postgres/url.ts";
import type { StorageDriver } from "../storage/driver.ts";
import type { MigrateTarget } from "./args.ts";
import { CliError, type CommandContext } from "./context.ts";

/**
 * `migrate`: copies every user and session of the configured storage into
 * another storage (file, kv or postgres), through the drivers' own
 * all-or-nothing import. The target must be empty, or hold only records of
 * the source (a copy made earlier, or one that was stopped): then what is
 * missing is added, and nothing the target holds is changed.
 */

/** Where a storage lives, to tell the target from the source before opening anything. */
function whereIs(c: Config): string {
  if (c.storage === "file") return resolve(c.dataDir);
  if (c.storage === "kv") return c.kvUrl ?? c.kvPath ?? join(c.dataDir, "auth.kv");
  if (c.storage === "postgres") return parseDatabaseUrl(c.databaseUrl ?? "").display;
  return "memory";
}

/**
 * The configuration of the target: the source's, with the storage and
 * its place replaced. Refuses a database URL holding a password (argv is
 * visible to every user of the machine, and kept in shell history) and a
 * target that is the source itself.
 */
export function migrationTarget(config: Config, to: MigrateTarget, cwd: string): Config {
  let target: Config;
  if (to.storage === "file") target = { ...config, storage: "file", dataDir: resolve(cwd, to.folder) };
  else if (to.storage === "kv") {
    target = { ...config, storage: "kv", kvPath: to.kvPath === ":memory:" ? to.kvPath : resolve(cwd, to.kvPath), kvUrl: null };
  } else {
    let hasPassword: boolean;
    try {
      hasPassword = parseDatabaseUrl(to.databaseUrl).hasPassword;
    } catch (e) {
      throw new CliError(`--database-url: ${(e as Error).message.replace(/^DATABASE_URL /, "the URL ")}`);
    }
    if (hasPassword) {
      throw new CliError(
        "--database-url must not hold a password: the command line is visible to every user of this machine; set PGPASSWORD instead",
      );
    }
    target = { ...config, storage: "postgres", databaseUrl: to.databaseUrl };
  }
  if (target.storage === config.storage && whereIs(target) === whereIs(config)) {
    throw new CliError(`the target is the configured storage itself (${config.storage} storage at ${whereIs(config)})`);
  }
  return target;
}

/** Refuses a target holding records the source does not have: copying into it would mix two stores. */
async function checkTarget(source: string, target: StorageDriver, users: Set<string>, sessions: Set<string>): Promise<void> {
  if (await target.isEmpty()) return;
  const extraUsers = (await target.listUsers()).filter((u) => !users.has(u.id)).length;
  const extraSessions = (await target.listSessions()).filter((s) => !sessions.has(s.session_id)).length;
  if (extraUsers || extraSessions) {
    throw new CliError(
      `${target.kind} storage at ${target.location} already holds ${extraUsers} users and ${extraSessions} sessions that ${source} does not; ` +
        "migrate into an empty storage (or one holding only part of this one, to add what is missing)",
    );
  }
}

/** Copies the configured storage (`ctx.driver`) into `target`, then prints one summary line. */
export async function migrateStorage(ctx: CommandContext, imports: ImportContext, storage: StorageContext, target: Config): Promise<void> {
  const source = `${ctx.driver.kind} storage at ${ctx.driver.location}`;
  const users = await ctx.driver.listUsers();
  const sessions = await ctx.driver.listSessions();
  const dest = await openStorage(target, { ...storage, batch: true }, ctx.log, false);
  try {
    await checkTarget(source, dest, new Set(users.map((u) => u.id)), new Set(sessions.map((s) => s.session_id)));
    const accounts = await ctx.driver.listAccounts();
    const s = await importFolder({ ...imports, driver: dest }, source, { users, sessions, accounts });
    // Written out (the file storage flushes on close) before the summary says so.
    await dest.close();
    const skipped = s.users.skipped || s.sessions.skipped
      ? ` (skipped, already there or ended: ${s.users.skipped} users, ${s.sessions.skipped} sessions)`
      : "";
    ctx.io.out(
      `copied ${s.users.imported} users and ${s.sessions.imported} sessions from ${source} to ${dest.kind} storage at ${dest.location}${skipped}`,
    );
  } catch (e) {
    await dest.close().catch(() => {});
    throw e;
  }
}
