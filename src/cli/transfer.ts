import { realpath, stat, unlink, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Config } from "../config.ts";
import type { SessionRecord, UserRecord } from "../domain/types.ts";
import { realFs } from "../storage/fs-util.ts";
import { LOCK_FILE } from "../storage/lock.ts";
import { serializeSessions, serializeUsers, SESSION_FILE, USER_FILE } from "../storage/seed-format.ts";
import { readSeedFolder } from "../storage/seed-import.ts";
import { writeFileAtomic } from "../storage/snapshot.ts";
import type { ImportSummary, StorageDriver } from "../storage/types.ts";
import { CliError, type CliIo, type CommandContext, inSteps } from "./context.ts";

/**
 * `import` and `export`: moving data between the original's data files and
 * whatever storage is configured. Both check their folder before the storage
 * is opened, so a mistake costs nothing and never holds the data folder's lock.
 */

/** The records of an original data folder. */
export type SeedData = { users: UserRecord[]; sessions: SessionRecord[] };

const exists = (path: string) => stat(path).then(() => true, () => false);
const canonical = (path: string) => realpath(path).catch(() => resolve(path));

/** True when `folder` is the file storage's own data folder (nothing to import from or export to there). */
async function isDataFolder(config: Config, folder: string): Promise<boolean> {
  return config.storage === "file" && (await canonical(folder)) === (await canonical(config.dataDir));
}

/**
 * Reads the original's data files in `folder`; null when `folder` is the
 * file storage's data folder (already loaded). Throws CliError for a missing
 * folder or one without data files, StartupError for a file that does not
 * parse (it is only read, never written).
 */
export async function readImportSource(config: Config, folder: string, now: number): Promise<SeedData | null> {
  const info = await stat(folder).catch(() => null);
  if (!info) throw new CliError(`folder ${folder} does not exist`);
  if (!info.isDirectory()) throw new CliError(`${folder} is not a folder`);
  if (await isDataFolder(config, folder)) return null;
  const data = await readSeedFolder(folder, now);
  if (!data) throw new CliError(`${folder} holds no data files of the original (${USER_FILE}, ${SESSION_FILE})`);
  return data;
}

/** Imports in steps of PROGRESS_STEP records (users first, so sessions follow their users), then prints the summary. */
export async function importData(ctx: CommandContext, data: SeedData): Promise<void> {
  const total: ImportSummary = { users: { imported: 0, skipped: 0 }, sessions: { imported: 0, skipped: 0 } };
  const add = (s: ImportSummary) => {
    for (const k of ["users", "sessions"] as const) {
      total[k].imported += s[k].imported;
      total[k].skipped += s[k].skipped;
    }
  };
  const { users, sessions } = data;
  await inSteps(users.length, ctx.io, (n) => `imported ${n}/${users.length} users...`, async (a, b) => add(await ctx.driver.importRecords(users.slice(a, b), [])));
  await inSteps(sessions.length, ctx.io, (n) => `imported ${n}/${sessions.length} sessions...`, async (a, b) => add(await ctx.driver.importRecords([], sessions.slice(a, b))));
  ctx.io.out(`imported ${total.users.imported} users, ${total.users.skipped} skipped`);
  ctx.io.out(`imported ${total.sessions.imported} sessions, ${total.sessions.skipped} skipped`);
}

/**
 * Refuses an export target that would clobber data: the file storage's own
 * folder, a folder in use by a running file-storage process, or existing
 * data files without `force`.
 */
export async function checkExportTarget(config: Config, folder: string, force: boolean): Promise<void> {
  if (await isDataFolder(config, folder)) throw new CliError(`${folder} is the data folder of the file storage (DATA_DIR): its files are already in the original's format`);
  if (await exists(join(folder, LOCK_FILE))) throw new CliError(`${folder} is in use by a running server (${LOCK_FILE} is present); export to another folder`);
  if (force) return;
  for (const name of [USER_FILE, SESSION_FILE]) {
    if (await exists(join(folder, name))) throw new CliError(`${join(folder, name)} already exists; use --force to overwrite it`);
  }
}

/**
 * Writes `records` to `folder/name` atomically (temp file, fsync, rename),
 * streamed in slices so 100k users never make one 30 MB string, with
 * progress every PROGRESS_STEP records. A failed write leaves no temp file.
 */
async function writeRecords<T>(folder: string, name: string, records: T[], io: CliIo, what: string, serialize: (r: T[]) => string): Promise<void> {
  try {
    await writeFileAtomic(realFs, folder, name, async (write) => {
      let first = true;
      await inSteps(records.length, io, (n) => `exported ${n}/${records.length} ${what}...`, async (from, to) => {
        for (let i = from; i < to; i += 1000) {
          // serialize() wraps its entries in braces; the slices are joined inside one pair.
          await write((first ? "{" : ", ") + serialize(records.slice(i, Math.min(to, i + 1000))).slice(1, -1));
          first = false;
        }
      });
      await write(first ? "{}" : "}");
    });
  } catch (e) {
    await unlink(join(folder, `${name}.tmp`)).catch(() => {});
    throw e;
  }
}

/** Writes the storage's users and sessions in the original's format, each file atomically. */
export async function exportData(ctx: CommandContext, folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const users = await ctx.driver.listUsers();
  const sessions = await ctx.driver.listSessions();
  await writeRecords(folder, USER_FILE, users, ctx.io, "users", serializeUsers);
  await writeRecords(folder, SESSION_FILE, sessions, ctx.io, "sessions", serializeSessions);
  ctx.io.out(`exported ${users.length} users, ${sessions.length} sessions`);
}
