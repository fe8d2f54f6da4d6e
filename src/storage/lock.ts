import { join, resolve } from "node:path";
import { StartupError } from "../domain/errors.ts";
import { errCode, errText, type FsLike } from "./fs-util.ts";

/** The lock file's name in the data folder; it holds a `LockInfo` as JSON. */
export const LOCK_FILE = ".db_lock";

export type LockInfo = { pid: number; hostname: string; started_at: string };

export type LockOptions = {
  fs: FsLike;
  dir: string;
  pid: number;
  hostname: string;
  now: () => number;
  log: (line: string) => void;
  /** Whether a process of this host is alive; without it every lock of another pid counts as live. */
  isPidAlive?: (pid: number) => boolean;
};

/**
 * Folders locked by this process. Two drivers of one process share its pid,
 * so the pid in the lock file cannot tell them apart; and a lock holding our
 * own pid that is not in this set was left by an earlier process that had
 * the same pid (pid 1 in a restarted container), so it is stale.
 */
const heldHere = new Set<string>();

function inUse(dir: string, lockPath: string, info: LockInfo): StartupError {
  return new StartupError(
    `Data folder ${dir} is in use by process ${info.pid} on ${info.hostname} since ${info.started_at}; ` +
      `stop it or remove ${lockPath} if that process is gone`,
  );
}

function parseLock(text: string): LockInfo | null {
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (typeof o.pid === "number" && typeof o.hostname === "string" && typeof o.started_at === "string") return o as LockInfo;
  } catch { /* reported by the caller */ }
  return null;
}

/**
 * Takes the single-writer lock of a data folder, or throws StartupError.
 *
 * The lock's content is written to a temp file first and then hard-linked to
 * `.db_lock`: `link` fails if the name exists, as an exclusive create (`wx`)
 * does, but the lock appears with its content complete, so a racing starter
 * (or a crash) never leaves an empty lock that nobody can judge. A stale lock
 * (its pid is gone, on this host) is removed and the link retried once; two
 * processes taking over the same stale lock in the same instant could both
 * succeed, a window we accept for a lock whose holder already crashed.
 */
export async function acquireLock(o: LockOptions): Promise<{ release(): Promise<void> }> {
  const key = resolve(o.dir);
  const lockPath = join(o.dir, LOCK_FILE);
  const mine: LockInfo = { pid: o.pid, hostname: o.hostname, started_at: new Date(o.now()).toISOString() };
  if (heldHere.has(key)) throw inUse(o.dir, lockPath, mine);
  heldHere.add(key); // reserved now: a concurrent open in this process must not judge our lock stale
  try {
    await linkLock(o, lockPath, mine);
  } catch (e) {
    heldHere.delete(key);
    throw e;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      await o.fs.unlink(lockPath).catch((e) => {
        if (errCode(e) !== "ENOENT") throw e;
      });
    },
  };
}

async function linkLock(o: LockOptions, lockPath: string, mine: LockInfo): Promise<void> {
  const { fs, dir, pid, hostname, log } = o;
  const tmp = join(dir, `${LOCK_FILE}.${pid}.tmp`);
  try {
    const handle = await fs.open(tmp, "w");
    await handle.writeFile(JSON.stringify(mine), "utf8").finally(() => handle.close());
  } catch (e) {
    throw new StartupError(`Data folder ${dir} is not writable (${errCode(e) ?? errText(e)}); the file storage needs to write there`);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.link(tmp, lockPath);
        break;
      } catch (e) {
        if (errCode(e) !== "EEXIST") throw new StartupError(`Cannot create ${lockPath}: ${errText(e)}`);
      }
      let text = "";
      try {
        text = await fs.readFile(lockPath, "utf8");
      } catch (e) {
        if (errCode(e) === "ENOENT" && attempt === 0) continue; // released meanwhile
        throw new StartupError(`Cannot read ${lockPath}: ${errText(e)}`);
      }
      const held = parseLock(text);
      if (!held) throw new StartupError(`Lock file ${lockPath} is unreadable; remove it if no process uses ${dir}`);
      const sameHost = held.hostname === hostname;
      const stale = attempt === 0 && sameHost && (held.pid === pid || o.isPidAlive?.(held.pid) === false);
      if (!stale) throw inUse(dir, lockPath, held);
      log(`Taking over the stale lock ${lockPath} of process ${held.pid} on ${held.hostname} (since ${held.started_at}): that process is gone`);
      await fs.unlink(lockPath).catch((e) => {
        if (errCode(e) !== "ENOENT") throw new StartupError(`Cannot remove the stale lock ${lockPath}: ${errText(e)}`);
      });
    }
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
}
