import { mkdir, realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Config } from "../app/config.ts";
import { realFs } from "../storage/fs.ts";
import { LOCK_FILE } from "../storage/file/lock.ts";
import { serializeSessions, serializeUsers, SESSION_FILE, USER_FILE } from "../storage/data-files/format.ts";
import { type FolderData, type ImportContext, importFolder, readDataFolder, waitForImport } from "../storage/import.ts";
import { writeDataFile } from "../storage/data-files/write.ts";
import { ACCOUNT_FILE, serializeAccounts } from "../storage/data-files/accounts.ts";
import { counted, tenths } from "../lib/progress.ts";
import type { ImportSummary } from "../storage/driver.ts";
import { storageKind } from "../storage/registry.ts";
import { CliError, type CliIo, type CommandContext } from "./context.ts";

/**
 * `import` and `export`: moving data between the original's data files and
 * whatever storage is configured. Both check their folder before the storage
 * is opened, so a mistake costs nothing and never holds the data folder's lock.
 */

const exists = (path: string) => stat(path).then(() => true, () => false);
const canonical = (path: string) => realpath(path).catch(() => resolve(path));

/** True when `folder` is the data folder of a storage keeping the original's files there (the file storage) (nothing to import from or export to there). */
async function isDataFolder(config: Config, folder: string): Promise<boolean> {
  return storageKind(config.storage).holdsDataFiles && (await canonical(folder)) === (await canonical(config.dataDir));
}

/**
 * Reads the original's data files in `folder`; null when `folder` is the
 * file storage's data folder (already loaded). Throws CliError for a missing
 * folder or one without data files, StartupError for a file that does not
 * parse (it is only read, never written).
 */
export async function readImportSource(config: Config, folder: string, now: number): Promise<FolderData | null> {
  const info = await stat(folder).catch(() => null);
  if (!info) throw new CliError(`folder ${folder} does not exist`);
  if (!info.isDirectory()) throw new CliError(`${folder} is not a folder`);
  if (await isDataFolder(config, folder)) return null;
  const data = await readDataFolder(folder, now);
  if (!data) throw new CliError(`${folder} holds no data files of the original (${USER_FILE}, ${SESSION_FILE})`);
  return data;
}

function printSummary(io: CliIo, s: ImportSummary, verb: string): void {
  io.out(`${verb} ${counted(s.users.imported, "user")}, ${s.users.skipped} skipped`);
  io.out(`${verb} ${counted(s.sessions.imported, "session")}, ${s.sessions.skipped} skipped`);
}

/** Imports all or nothing (progress on stderr for large inputs), then prints the summary. */
export async function importData(ctx: CommandContext, imports: ImportContext, folder: string, data: FolderData): Promise<void> {
  // What was read, exactly: the folder named, nothing else (DATA_DIR's own files are not taken in on the way).
  ctx.io.err(
    `reading ${join(resolve(folder), USER_FILE)} (${counted(data.users.length, "user")}) and ${join(resolve(folder), SESSION_FILE)} (${
      counted(data.sessions.length, "session")
    })`,
  );
  printSummary(ctx.io, await importFolder(imports, folder, data), "imported");
}

/** `import --abort`: removes what an import that was stopped before it finished added. */
export async function abortImport(ctx: CommandContext, imports: ImportContext): Promise<void> {
  let pending = await ctx.driver.pendingImport();
  // An import still running elsewhere is let finish (or stop) first.
  if (pending?.active) pending = await waitForImport(imports, pending);
  const removed = pending ? await ctx.driver.abortImport() : null;
  if (!removed || !pending) {
    ctx.io.out("no unfinished import: nothing to do");
    return;
  }
  ctx.io.out(`removed what the import of ${pending.source} (started ${pending.started_at}) had added:`);
  printSummary(ctx.io, removed, "removed");
}

/**
 * Refuses an export target that would clobber data: the file storage's own
 * folder, a folder in use by a running file-storage process, or existing
 * data files without `force`.
 */
export async function checkExportTarget(config: Config, folder: string, force: boolean): Promise<void> {
  const info = await stat(folder).catch(() => null);
  if (info && !info.isDirectory()) {
    throw new CliError(`${folder} is not a folder; export writes ${USER_FILE} and ${SESSION_FILE} into a folder`);
  }
  if (await isDataFolder(config, folder)) {
    throw new CliError(`${folder} is the data folder of the file storage (DATA_DIR): its files are already in the original's format`);
  }
  if (await exists(join(folder, LOCK_FILE))) {
    throw new CliError(`${folder} is in use by a running server (${LOCK_FILE} is present); export to another folder`);
  }
  if (force) return;
  for (const name of [USER_FILE, SESSION_FILE]) {
    if (await exists(join(folder, name))) throw new CliError(`${join(folder, name)} already exists; use --force to overwrite it`);
  }
}

/** Writes the storage's users and sessions in the original's format, each file atomically. */
export async function exportData(ctx: CommandContext, folder: string): Promise<void> {
  const users = await ctx.driver.listUsers();
  const sessions = await ctx.driver.listSessions();
  const accounts = await ctx.driver.listAccounts();
  try {
    await mkdir(folder, { recursive: true });
    const progress = (what: string, total: number) =>
      tenths(
        total,
        (done, pct) =>
          ctx.io.err(`exporting to ${folder}: ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${what} (${pct}%)`),
      );
    await writeDataFile(realFs, folder, USER_FILE, users, serializeUsers, progress("users", users.length));
    await writeDataFile(realFs, folder, SESSION_FILE, sessions, serializeSessions, progress("sessions", sessions.length));
    // Our admin grants, in a file of their own that the original ignores; `import` reads it back.
    // One left by an earlier export is replaced too: a grant revoked since must not come back.
    if (accounts.length || await exists(join(folder, ACCOUNT_FILE))) {
      await writeDataFile(realFs, folder, ACCOUNT_FILE, accounts, serializeAccounts);
    }
  } catch (e) {
    throw new CliError(`Cannot export to ${folder}: ${e instanceof Error ? e.message : String(e)}`);
  }
  ctx.io.out(`exported ${counted(users.length, "user")}, ${counted(sessions.length, "session")}`);
}
