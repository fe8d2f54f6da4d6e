import { join, resolve } from "node:path";
import { StartupError, StorageUnavailableError } from "../../domain/errors.ts";
import { formatTimestamp } from "../../domain/records.ts";
import { listGenerations, loadFolder, readFolderWithoutLock, removeTempFiles } from "./load.ts";
import { afterQueuedCallbacks, type FsLike, PRIVATE_FILE, realFs, syncDir } from "../fs.ts";
import { errCode, errText } from "../../lib/errors.ts";
import { createJournalWriter, journalName, type JournalStats, type JournalWriter } from "./journal-writer.ts";
import { acquireLock } from "./lock.ts";
import { createTablesDriver } from "../tables-driver.ts";
import { writeDataFiles } from "../data-files/write.ts";
import { Tables } from "../tables.ts";
import type { StorageDriver } from "../driver.ts";

/*
 * The `file` storage. At rest: the original's `.db_User.json` and
 * `.db_UserSession.json` (the data files) plus `.db_journal.<generation>.jsonl`,
 * an append-only log of every change since. A commit costs one appended line
 * and one fdatasync shared with every commit that arrived meanwhile, not a
 * rewrite of the whole data.
 *
 * Compaction protocol (in the background every `compactEvery` changes, and
 * on close):
 *  1. In the journal writer's loop, at a point where every change applied in
 *     memory is durable (or in the batch being written, and the compaction is
 *     abandoned if that batch fails), capture the records (an array copy: the
 *     records themselves are never mutated, only replaced) and start journal
 *     generation N+1. Commits from then on go to N+1, never lost and never
 *     interleaved with anything: one loop does all journal writes.
 *  2. Serialize the capture in slices and write each data file atomically
 *     (temp file, fsync, rename, fsync the folder).
 *  3. Delete generations <= N (the data files cover them).
 * A crash before 2 completes leaves the old data files with all journals;
 * a crash between 2 and 3 replays generations <= N over data files that
 * already holds them, which gives the same records. Either way nothing
 * acknowledged is lost. On a clean close the last step deletes every
 * generation, so the folder holds only the two files the original reads.
 */

/** Options of `openFileDriver`. */
export type FileDriverOptions = {
  /** The data folder. It must exist and be writable; it is not created. */
  dir: string;
  /** This process's id, written into the lock file. */
  pid: number;
  hostname?: string;
  log?: (line: string) => void;
  /** Changes in the journal before a background compaction. Default 10,000. */
  compactEvery?: number;
  now?: () => number;
  /** File system override, for fault-injection tests. */
  fs?: FsLike;
};

export type FileDriverStats = JournalStats & { compactions: number };

/** The file driver, with introspection for tests and benchmarks. */
export type FileDriver = StorageDriver & {
  stats(): FileDriverStats;
  /** Runs (or joins) a compaction now; failures are logged, the journal keeps everything. */
  compact(): Promise<void>;
};

async function checkFolder(fs: FsLike, dir: string): Promise<void> {
  try {
    if ((await fs.stat(dir)).isDirectory()) return;
  } catch (e) {
    if (errCode(e) === "ENOENT") {
      throw new StartupError(`Data folder ${dir} does not exist; create it or set DATA_DIR to an existing folder`);
    }
    throw new StartupError(`Cannot open data folder ${dir}: ${errText(e)}`);
  }
  throw new StartupError(`Data folder ${dir} is not a folder`);
}

/**
 * Deletes the journal generations below `below`, oldest first, each removal
 * made durable before the next: were a newer generation to vanish while an
 * older one stayed, replaying the older one alone over the data files could
 * bring back a record that the newer one deleted.
 */
async function removeJournals(fs: FsLike, dir: string, below: number): Promise<void> {
  for (const generation of await listGenerations(fs, dir)) {
    if (generation >= below) continue;
    await fs.unlink(join(dir, journalName(generation)));
    await syncDir(fs, dir);
  }
}

/**
 * Opens the `file` storage on `options.dir`: takes the folder's lock, loads
 * the data files and replays the journal. Throws StartupError when the folder
 * is missing, unwritable, locked by a live process, or holds a file that
 * cannot be parsed (which is then left untouched).
 *
 * @example
 * const storage = await openFileDriver({ dir: "./data", pid: process.pid, log: console.error });
 */
export async function openFileDriver(options: FileDriverOptions): Promise<FileDriver> {
  const fs = options.fs ?? realFs;
  const { dir } = options;
  const log = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const compactEvery = options.compactEvery ?? 10_000;
  if (!Number.isInteger(compactEvery) || compactEvery < 1) {
    throw new StartupError(`Cannot use compactEvery ${compactEvery}: a positive integer is needed`);
  }
  await checkFolder(fs, dir);
  const lock = await acquireLock({
    fs,
    dir,
    log,
    now,
    pid: options.pid,
    hostname: options.hostname ?? "unknown-host",
  });
  let writer: JournalWriter | undefined;
  try {
    await removeTempFiles(fs, dir);
    const tables = new Tables();
    const loaded = await loadFolder(fs, dir, tables, formatTimestamp(now()), log);
    const generation = loaded.generations.at(-1) ?? 1;
    writer = createJournalWriter({
      fs,
      dir,
      log,
      generation,
      size: loaded.size,
      entries: loaded.entries,
      handle: await fs.open(join(dir, journalName(generation)), "a", PRIVATE_FILE),
      onFlushed: (entries) => {
        if (entries >= compactEvery) void startCompaction();
      },
    });
    const journal = writer;
    // A journal file just created must be in the folder before acks go into it.
    if (!loaded.generations.length) await syncDir(fs, dir);
    let compactions = 0;
    let compacting: Promise<void> | null = null;
    let closing: Promise<void> | null = null;
    const capture = () => ({
      users: [...tables.users.values()],
      sessions: [...tables.sessions.values()],
      accounts: [...tables.accounts.values()],
    });

    const compact = async (): Promise<void> => {
      const rotated = await journal.rotate(capture);
      if (!rotated) throw new Error("cannot start a new journal generation");
      await writeDataFiles(fs, dir, rotated.captured.users, rotated.captured.sessions, rotated.captured.accounts);
      await removeJournals(fs, dir, rotated.generation);
      compactions++;
    };
    const startCompaction = (): Promise<void> => {
      if (closing) return Promise.resolve();
      compacting ??= compact()
        .catch((e) => log(`Compaction of ${dir} failed, the journal still holds every change: ${errText(e)}`))
        .finally(() => (compacting = null));
      return compacting;
    };

    const close = (): Promise<void> => {
      closing ??= (async () => {
        try {
          await compacting;
          await journal.close(); // refuses new commits, waits for pending ones
          await afterQueuedCallbacks(); // commits that failed have rolled back by now
          const generations = await listGenerations(fs, dir);
          if (journal.stats().entries > 0 || generations.length > 1) {
            const { users, sessions, accounts } = capture();
            await writeDataFiles(fs, dir, users, sessions, accounts);
          }
          await removeJournals(fs, dir, Infinity);
        } catch (e) {
          throw new StorageUnavailableError(`Cannot write the data files of ${dir}; the journal keeps every change: ${errText(e)}`, {
            cause: e,
          });
        } finally {
          await lock.release();
        }
      })();
      return closing;
    };

    // The original's raw session tokens must not stay at rest, and leftover
    // generations of an interrupted compaction are folded in before the
    // rotation protocol starts counting on them again.
    if (loaded.legacy > 0 || loaded.generations.length > 1) {
      await compact().catch((e) => {
        throw new StartupError(`Cannot rewrite the data files of ${dir}: ${errText(e)}`);
      });
    }
    const driver = createTablesDriver(tables, {
      kind: "file",
      location: resolve(dir),
      commit: (changes) => journal.append(changes),
      onClose: close,
    });
    return { ...driver, stats: () => ({ ...journal.stats(), compactions }), compact: startCompaction };
  } catch (e) {
    await writer?.close().catch(() => {});
    await lock.release().catch(() => {});
    throw e;
  }
}

/**
 * The data of a folder that a running server holds, read without its lock
 * (see `readFolderWithoutLock`), for read-only commands beside the server:
 * listing and exporting work; any write is refused, naming the holder.
 */
export async function openFileReadOnly(dir: string, holder: string, now = Date.now): Promise<StorageDriver> {
  const tables = await readFolderWithoutLock(realFs, dir, formatTimestamp(now()));
  const refuse = () => Promise.reject(new StorageUnavailableError(`Data folder ${dir} is in use by ${holder}: read-only`));
  return createTablesDriver(tables, { kind: "file", location: resolve(dir), commit: refuse });
}
