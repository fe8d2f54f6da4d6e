import * as nodeFs from "node:fs/promises";
import { StorageUnavailableError } from "../domain/errors.ts";
import { errCode, errText } from "../lib/errors.ts";

/**
 * The part of `node:fs/promises` the file driver uses. Deno, Bun and Node all
 * implement it; tests pass a wrapped copy to inject disk errors (as root,
 * `chmod` cannot make a folder unwritable, so a fault has to be simulated).
 */
export type FsLike = Pick<
  typeof nodeFs,
  "open" | "readFile" | "rename" | "unlink" | "readdir" | "stat" | "link" | "symlink" | "chmod"
>;

/**
 * Mode of every file the storage creates (and of a data folder it creates,
 * with the search bit): they hold password hashes, so only the account
 * running the service reads them.
 */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_FOLDER = 0o700;

/** The real file system. */
export const realFs: FsLike = nodeFs;

/** Wraps a failed disk operation so the API answers 503 and the log says what failed. */
export function unavailable(what: string, e: unknown): StorageUnavailableError {
  return new StorageUnavailableError(`${what}: ${errText(e)}`, { cause: e });
}

/**
 * fsyncs a folder, so that a file created, renamed or removed in it stays so
 * after a power loss (on Linux, fsync of the file alone does not make its
 * directory entry durable). Some platforms cannot open a folder for sync
 * (Windows, some network file systems): there it is skipped, as SQLite does.
 */
export async function syncDir(fs: FsLike, dir: string): Promise<void> {
  let handle: Awaited<ReturnType<FsLike["open"]>>;
  try {
    handle = await fs.open(dir, "r");
  } catch (e) {
    if (["EISDIR", "EPERM", "EACCES", "ENOTSUP", "EINVAL"].includes(errCode(e) ?? "")) return;
    throw e;
  }
  try {
    await handle.sync();
  } catch (e) {
    if (!["EISDIR", "EPERM", "EBADF", "ENOTSUP", "EINVAL"].includes(errCode(e) ?? "")) throw e;
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` through `handle` (a write may be short). */
export async function writeAll(handle: Awaited<ReturnType<FsLike["open"]>>, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    if (bytesWritten <= 0) throw new Error(`short write (${done} of ${bytes.length} bytes)`);
    done += bytesWritten;
  }
}

/**
 * Resolves on a later turn of the event loop (a timer), after every promise
 * callback already queued has run: rejected commits have rolled back by then.
 * (Not `process.afterQueuedCallbacks`, which runs before them.)
 */
export function afterQueuedCallbacks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
