import * as nodeFs from "node:fs/promises";
import { StorageUnavailableError } from "../domain/errors.ts";

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

/** The `code` of a Node-style system error ("ENOENT", "EEXIST"...), if any. */
export function errCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A short description of an error for logs and messages. */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

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

/** Resolves after pending promise callbacks have run (a rollback, for instance). */
export function nextTick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
