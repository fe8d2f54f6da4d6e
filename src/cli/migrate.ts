import type { Config } from "../app/config.ts";
import { openStorage, type StorageContext } from "../app/open-storage.ts";
import { type ImportContext, importFolder } from "../storage/import.ts";
import { storageKind } from "../storage/registry.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { type MigrateTarget, placeField } from "./args.ts";
import { CliError, type CommandContext } from "./context.ts";
import { counted } from "../lib/progress.ts";

/**
 * `migrate`: copies every user and session of the configured storage into
 * another storage (file, kv or postgres), through the drivers' own
 * all-or-nothing import. The target must be empty, or hold only records of
 * the source (a copy made earlier, or one that was stopped): then what is
 * missing is added, and nothing the target holds is changed.
 */

/**
 * The configuration of the target: the source's, with the storage and
 * its place replaced. Refuses a place the target's storage refuses (a
 * database URL holding a password) and a target that is the source itself.
 */
export function migrationTarget(config: Config, to: MigrateTarget, cwd: string): Config {
  const kind = storageKind(to.storage);
  if (!("flag" in kind.cli)) throw new CliError(`the CLI cannot migrate to ${kind.name} storage: it ${kind.cli.refused}`);
  let target: Config;
  try {
    target = { ...config, ...kind.cli.settings(to[placeField(kind.cli.flag)], cwd), storage: to.storage };
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const source = storageKind(config.storage);
  if (target.storage === config.storage && kind.where(target) === source.where(config)) {
    throw new CliError(`the target is the configured storage itself (${config.storage} storage at ${source.where(config)})`);
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
      `${target.kind} storage at ${target.location} already holds ${counted(extraUsers, "user")} and ${
        counted(extraSessions, "session")
      } that ${source} does not; ` +
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
      ? ` (skipped, already there or ended: ${counted(s.users.skipped, "user")}, ${counted(s.sessions.skipped, "session")})`
      : "";
    ctx.io.out(
      `copied ${counted(s.users.imported, "user")} and ${
        counted(s.sessions.imported, "session")
      } from ${source} to ${dest.kind} storage at ${dest.location}${skipped}`,
    );
  } catch (e) {
    await dest.close().catch(() => {});
    throw e;
  }
}
