import { isUtf8 } from "node:buffer";
import { join } from "node:path";
import { StartupError } from "../../domain/errors.ts";
import type { SessionRecord, UserRecord } from "../../domain/records.ts";
import { errCode, errText } from "../../lib/errors.ts";
import { locateJsonError } from "../../lib/json-position.ts";
import type { FsLike } from "../fs.ts";
import { parseSessions, parseUsers, SESSION_FILE, USER_FILE } from "./format.ts";

/** A whole file in one read: `readFile` goes in 512 KiB steps, a few times slower on a 30 MB file. */
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

const fatal = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

/**
 * Strict UTF-8 text of a data file (not UTF-8: refused, as decoding it
 * lossily would rewrite the file). Checked with node:buffer's `isUtf8`
 * where the runtime has it, then decoded without the fatal flag: for 35 MB
 * that took 21 ms on Deno against 68 for a fatal TextDecoder (Node and Bun:
 * no slower). A leading byte order mark is dropped by TextDecoder either way.
 */
function strictUtf8(bytes: Uint8Array): string {
  if (typeof isUtf8 !== "function") return fatal.decode(bytes);
  if (!isUtf8(bytes)) throw new TypeError("not valid UTF-8");
  return lenient.decode(bytes);
}

/** A data file's text, or null when there is none. Invalid UTF-8 stops: decoding it lossily would rewrite the file. */
async function readText(fs: FsLike, path: string): Promise<string | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readWhole(fs, path);
  } catch (e) {
    if (errCode(e) === "ENOENT") return null;
    throw new StartupError(`Cannot read ${path}: ${errText(e)}`);
  }
  try {
    return strictUtf8(bytes);
  } catch {
    throw new StartupError(`Cannot parse ${path}: not valid UTF-8; the file was left untouched`);
  }
}

/** Runs a parser; a JSON syntax error gets its line and column (runtimes' messages do not all give them). */
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

/** What a folder's data files hold. */
export type DataFiles = {
  users: UserRecord[];
  sessions: SessionRecord[];
  /** Sessions of the original stored under their raw token, hashed on the way in. */
  legacy: number;
  /** At least one of the two files exists. */
  found: boolean;
};

/**
 * The one reader of the original's data files, used by the file storage,
 * the first-start import and `cli import`: the records of both files (empty
 * when absent). Strict: bytes that are not UTF-8, or JSON that does not
 * parse, stop with the file, line and column, and the file is never
 * touched.
 */
export async function readDataFiles(fs: FsLike, dir: string, nowIso: string): Promise<DataFiles> {
  const userPath = join(dir, USER_FILE);
  const sessionPath = join(dir, SESSION_FILE);
  const [userText, sessionText] = await Promise.all([readText(fs, userPath), readText(fs, sessionPath)]);
  const users = userText === null ? [] : withPosition(userPath, userText, () => parseUsers(userText, userPath, nowIso));
  const parsed = sessionText === null
    ? { sessions: [], legacy: 0 }
    : withPosition(sessionPath, sessionText, () => parseSessions(sessionText, sessionPath, nowIso));
  return { users, ...parsed, found: userText !== null || sessionText !== null };
}
