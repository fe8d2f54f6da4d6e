import { join } from "node:path";
import { StartupError } from "../domain/errors.ts";
import type { SessionRecord, UserRecord } from "../domain/types.ts";
import { errCode, errText, type FsLike, PRIVATE_FILE, syncDir, writeAll } from "./fs-util.ts";
import { locateJsonError } from "./json-error.ts";
import { parseSessions, parseUsers, serializeSessions, serializeUsers, SESSION_FILE, USER_FILE } from "./seed-format.ts";

/**
 * The snapshot files: `.db_User.json` and `.db_UserSession.json` in the
 * original's format, which the original can read back as they are.
 */

/** Records per slice: ~170 KB of text, a few ms of work between two turns of the event loop. */
const SLICE = 500;

/**
 * Snapshot text in slices, each handed to `write` (an awaited file write, so
 * the event loop runs between slices): a background compaction of 100k users
 * neither stalls requests for long nor builds a 30 MB string.
 */
async function serializeInSlices<T>(records: T[], serialize: (r: T[]) => string, write: (text: string) => Promise<void>): Promise<void> {
  for (let i = 0; i < records.length; i += SLICE) {
    // serialize() wraps its entries in braces; the slices are joined inside one pair.
    const entries = serialize(records.slice(i, i + SLICE)).slice(1, -1);
    await write((i === 0 ? "{" : ", ") + entries);
  }
  await write(records.length ? "}" : "{}");
}

const encoder = new TextEncoder();

/**
 * Replaces `dir/name` atomically: a reader (or a crash) sees the old file or
 * the new one, never a mix. The temp file is fsynced before the rename (else
 * the rename can reach the disk before the data, leaving an empty file), and
 * the folder after it (else the rename itself can be lost).
 */
export async function writeFileAtomic(
  fs: FsLike,
  dir: string,
  name: string,
  produce: (write: (text: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const handle = await fs.open(tmp, "w", PRIVATE_FILE);
  try {
    await produce((text) => writeAll(handle, encoder.encode(text)));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, join(dir, name));
  await syncDir(fs, dir);
}

/**
 * Writes both snapshot files (users first; each one atomically). The
 * sessions file is only created when there are sessions to keep: a server
 * whose sessions live in memory (`session_auth`) or that has none leaves a
 * folder the original would recognise, without an empty extra file.
 */
export async function writeSnapshots(fs: FsLike, dir: string, users: UserRecord[], sessions: SessionRecord[]): Promise<void> {
  await writeFileAtomic(fs, dir, USER_FILE, (write) => serializeInSlices(users, serializeUsers, write));
  const present = await fs.stat(join(dir, SESSION_FILE)).then(() => true, (e) => {
    if (errCode(e) === "ENOENT") return false;
    throw e;
  });
  if (sessions.length || present) await writeFileAtomic(fs, dir, SESSION_FILE, (write) => serializeInSlices(sessions, serializeSessions, write));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A whole file in one read: `readFile` goes in 512 KiB steps, a few times slower on a 30 MB snapshot. */
async function readWhole(fs: FsLike, path: string): Promise<Uint8Array> {
  const handle = await fs.open(path, "r");
  try {
    const size = (await handle.stat()).size;
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, size - done, done);
      if (bytesRead === 0) break; // shrank meanwhile: parse what is there (it will not parse)
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** A snapshot file's text, or null when there is none. Invalid UTF-8 stops startup: decoding it lossily would rewrite the file. */
async function readText(fs: FsLike, path: string): Promise<string | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readWhole(fs, path);
  } catch (e) {
    if (errCode(e) === "ENOENT") return null;
    throw new StartupError(`Cannot read ${path}: ${errText(e)}`);
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new StartupError(`Cannot parse ${path}: not valid UTF-8; the file was left untouched`);
  }
}

/** Runs a seed-format parser; a JSON syntax error gets its line and column (runtimes' messages do not all give them). */
function withPosition<T>(path: string, text: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const prefix = `Cannot parse ${path}:`;
    if (!(e instanceof StartupError) || !e.message.startsWith(prefix)) throw e;
    const at = locateJsonError(text);
    if (!at) throw e;
    throw new StartupError(e.message.replace(prefix, `Cannot parse ${path} at line ${at.line}, column ${at.column}:`));
  }
}

/**
 * The records of both snapshot files (empty when absent; `found`: at least
 * one exists); `legacy` counts raw session ids hashed on the way in.
 * Strict: bytes that are not UTF-8 or JSON that does not parse stop with the
 * file, line and column, and the file is never touched.
 */
export async function readSnapshots(fs: FsLike, dir: string, nowIso: string): Promise<{
  users: UserRecord[];
  sessions: SessionRecord[];
  legacy: number;
  found: boolean;
}> {
  const userPath = join(dir, USER_FILE);
  const sessionPath = join(dir, SESSION_FILE);
  const [userText, sessionText] = await Promise.all([readText(fs, userPath), readText(fs, sessionPath)]);
  const users = userText === null ? [] : withPosition(userPath, userText, () => parseUsers(userText, userPath, nowIso));
  const parsed = sessionText === null
    ? { sessions: [], legacy: 0 }
    : withPosition(sessionPath, sessionText, () => parseSessions(sessionText, sessionPath, nowIso));
  return { users, ...parsed, found: userText !== null || sessionText !== null };
}
