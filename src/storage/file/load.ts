import { join } from "node:path";
import { StartupError } from "../../domain/errors.ts";
import { type FsLike } from "../fs.ts";
import { errCode, errText } from "../../lib/errors.ts";
import { decodeJournal } from "./journal-format.ts";
import { JOURNAL_NAME, journalName } from "./journal-writer.ts";
import { readDataFiles } from "../data-files/read.ts";
import { SESSION_FILE, USER_FILE } from "../data-files/format.ts";
import { ACCOUNT_FILE, readAccountFile } from "../data-files/accounts.ts";
import { Tables } from "../tables.ts";

/** The journal generations present in `dir`, oldest first. */
export async function listGenerations(fs: FsLike, dir: string): Promise<number[]> {
  const names = await fs.readdir(dir);
  return names.flatMap((n) => {
    const m = JOURNAL_NAME.exec(n);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
}

/** What startup found, for the journal writer and the decision to compact at once. */
export type Loaded = {
  /** Journal generations on disk, oldest first (empty for a fresh or cleanly closed folder). */
  generations: number[];
  /** Good length in bytes and change count of the newest generation. */
  size: number;
  entries: number;
  /** Raw session ids of the original, hashed on load; they must be written back hashed. */
  legacy: number;
};

/**
 * Loads a data folder into `tables`: the data files first (in file
 * order, so the first of duplicate emails wins), then every journal
 * generation in order on top. Changes are whole records or deletions, so a
 * journal already covered by newer data files (a crash between a data file's
 * rename and the journal's removal) replays to the same state.
 */
export async function loadFolder(
  fs: FsLike,
  dir: string,
  tables: Tables,
  nowIso: string,
  log: (line: string) => void,
  readOnly = false,
): Promise<Loaded> {
  const snap = await readDataFiles(fs, dir, nowIso);
  tables.loadRecords(snap.users, snap.sessions);
  for (const account of await readAccountFile(fs, dir)) tables.accounts.set(account.user_id, account);
  if (snap.legacy) log(`Took over ${snap.legacy} legacy session(s) from ${join(dir, SESSION_FILE)}; they are now stored hashed`);

  const generations = await listGenerations(fs, dir);
  let size = 0;
  let entries = 0;
  for (const [i, generation] of generations.entries()) {
    const path = join(dir, journalName(generation));
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(path);
    } catch (e) {
      // A reader beside the server: a compaction removed it meanwhile.
      if (readOnly && errCode(e) === "ENOENT") throw new JournalGone();
      throw new StartupError(`Cannot read ${path}: ${errText(e)}`);
    }
    // Only the very end of the newest journal may be torn: older generations
    // were complete and fsynced before the next one was started.
    const last = i === generations.length - 1;
    const journal = decodeJournal(bytes, path, last);
    entries = 0;
    for (const batch of journal.batches) {
      // apply() one by one, not applyAll(): replay needs no undo list.
      for (const change of batch) tables.apply(change);
      entries += batch.length;
    }
    size = journal.goodLength;
    // A reader beside the server may see a line being written: it is not
    // acknowledged yet, so it is left out, and only the writer repairs files.
    if (journal.torn && !readOnly) {
      log(
        `Journal ${path} ends with a torn line (a write cut short by a crash, never acknowledged); ` +
          `dropped its last ${bytes.length - journal.goodLength} bytes`,
      );
      await cutJournal(fs, path, journal.goodLength);
    }
  }
  return { generations, size, entries, legacy: snap.legacy };
}

class JournalGone extends Error {}

/**
 * Reads a data folder that a running server holds, without its lock and
 * without changing anything: the state as of some moment of the server's
 * life. The journals named at the start are read after the data files; a
 * compaction that removes one meanwhile rewrote the data files to cover it, so the
 * read starts over (changes are whole records, so replaying a journal over
 * data files that already hold it gives the same state).
 */
export async function readFolderWithoutLock(fs: FsLike, dir: string, nowIso: string): Promise<Tables> {
  for (let attempt = 1;; attempt++) {
    const tables = new Tables();
    try {
      await loadFolder(fs, dir, tables, nowIso, () => {}, true);
      return tables;
    } catch (e) {
      if (!(e instanceof JournalGone) || attempt >= 10) throw e;
    }
  }
}

/** Cuts a torn line off, so the next append does not land after garbage. */
async function cutJournal(fs: FsLike, path: string, length: number): Promise<void> {
  try {
    const handle = await fs.open(path, "r+");
    try {
      await handle.truncate(length);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw new StartupError(`Cannot repair ${path}: ${errText(e)}`);
  }
}

/** Removes leftovers of an interrupted rewrite of the data files (the files themselves were never touched). */
export async function removeTempFiles(fs: FsLike, dir: string): Promise<void> {
  for (const name of [USER_FILE, SESSION_FILE, ACCOUNT_FILE]) {
    await fs.unlink(join(dir, `${name}.tmp`)).catch((e) => {
      if (errCode(e) !== "ENOENT") throw new StartupError(`Cannot remove ${join(dir, `${name}.tmp`)}: ${errText(e)}`);
    });
  }
}
