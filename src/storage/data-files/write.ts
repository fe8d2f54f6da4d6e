import { join } from "node:path";
import type { SessionRecord, UserRecord } from "../../domain/records.ts";
import { errCode } from "../../lib/errors.ts";
import { type FsLike, PRIVATE_FILE, syncDir, writeAll } from "../fs.ts";
import { serializeSessions, serializeUsers, SESSION_FILE, USER_FILE } from "./format.ts";
import { ACCOUNT_FILE, serializeAccounts } from "./accounts.ts";
import type { AccountRecord } from "../../domain/accounts.ts";

/** Records per slice: ~170 KB of text, a few ms of work between two turns of the event loop. */
const SLICE = 500;
const encoder = new TextEncoder();

/**
 * Replaces `dir/name` atomically with `records` in the original's format:
 * a reader (or a crash) sees the old file or the new one, never a mix. The
 * temp file is fsynced before the rename (else the rename can reach the
 * disk before the data, leaving an empty file), and the folder after it
 * (else the rename itself can be lost). The text is made and written in
 * slices, so that 100k users neither stall the event loop for long nor
 * build one 30 MB string. A failed write leaves no temp file. The one
 * writer of data files: the file storage's compactions and `cli export`.
 */
export async function writeDataFile<T>(
  fs: FsLike,
  dir: string,
  name: string,
  records: readonly T[],
  serialize: (slice: T[]) => string,
  onProgress?: (written: number) => void,
): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  try {
    const handle = await fs.open(tmp, "w", PRIVATE_FILE);
    try {
      for (let i = 0; i < records.length; i += SLICE) {
        // serialize() wraps its entries in braces; the slices are joined inside one pair.
        const entries = serialize(records.slice(i, i + SLICE)).slice(1, -1);
        await writeAll(handle, encoder.encode((i === 0 ? "{" : ", ") + entries));
        onProgress?.(Math.min(records.length, i + SLICE));
      }
      await writeAll(handle, encoder.encode(records.length ? "}" : "{}"));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, join(dir, name));
  } catch (e) {
    await fs.unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(fs, dir);
}

const present = (fs: FsLike, path: string) =>
  fs.stat(path).then(() => true, (e) => {
    if (errCode(e) === "ENOENT") return false;
    throw e;
  });

/**
 * Writes the data files (users first; each one atomically). The sessions
 * file is only created when there are sessions to keep: a server whose
 * sessions live in memory (`session_auth`) or that has none leaves a folder
 * as the original would, without an empty extra file; likewise the
 * accounts file, only once some account has state.
 */
export async function writeDataFiles(
  fs: FsLike,
  dir: string,
  users: readonly UserRecord[],
  sessions: readonly SessionRecord[],
  accounts: readonly AccountRecord[] = [],
): Promise<void> {
  await writeDataFile(fs, dir, USER_FILE, users, serializeUsers);
  if (sessions.length || await present(fs, join(dir, SESSION_FILE))) {
    await writeDataFile(fs, dir, SESSION_FILE, sessions, serializeSessions);
  }
  if (accounts.length || await present(fs, join(dir, ACCOUNT_FILE))) {
    await writeDataFile(fs, dir, ACCOUNT_FILE, accounts, serializeAccounts);
  }
}
