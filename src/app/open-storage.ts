import { mkdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { StartupError, StorageUnavailableError } from "../domain/errors.ts";
import type { Logger } from "../lib/log.ts";
import { ImportBusyError, type StorageDriver } from "../storage/driver.ts";
import { PRIVATE_FOLDER } from "../storage/fs.ts";
import { prepareStore } from "../storage/import.ts";
import { storageKind } from "../storage/registry.ts";
import type { Config } from "./config.ts";

/**
 * Choosing and opening the configured storage: shared by the server and
 * the CLI (which must not load the HTTP app to do it). Drivers are loaded
 * on demand, so a file-storage server never loads Deno KV's native module.
 */

/** What opening a storage needs from the runtime. */
export type StorageContext = {
  env: Record<string, string | undefined>;
  pid: number;
  /** Deno's built-in `Deno.openKv`; absent on Node and Bun (they use `@deno/kv`). */
  denoOpenKv?: (path?: string) => Promise<unknown>;
  /** Cores this process may use (PostgreSQL's pool size by default; the server's PBKDF2 concurrency). */
  cores?: number;
  /**
   * A command-line run rather than a server: a remote storage may take
   * its time (exports of large stores) instead of failing within the 2 s a
   * request may wait.
   */
  batch?: boolean;
};

/**
 * Opens the configured storage and, unless `prepare` is false, brings it up
 * to date (an interrupted import is completed; an empty store takes in the
 * original's files in DATA_DIR). Throws `StartupError` with one clear line
 * when it cannot.
 *
 * @example const driver = await openStorage(parseConfig(process.env, process.cwd()), { env: process.env, pid: process.pid }, log);
 */
export async function openStorage(config: Config, context: StorageContext, log: Logger, prepare = true): Promise<StorageDriver> {
  const driver = await openDriver(config, context, log);
  await warnIfReadableByOthers(storageKind(config.storage).dataPaths(config), log);
  if (!prepare) return driver;
  try {
    await prepareStore({ driver, pid: context.pid, hostname: hostname(), now: Date.now, say: (line) => log.info(line) }, config.dataDir);
  } catch (e) {
    await driver.close();
    if (e instanceof ImportBusyError) throw new StartupError(e.message);
    // The storage failing right after it opened (a database going down): still one line, not a crash.
    if (e instanceof StorageUnavailableError) throw new StartupError(`${e.message}: ${e.detail}`);
    throw e;
  }
  return driver;
}

async function openDriver(config: Config, context: StorageContext, log: Logger): Promise<StorageDriver> {
  const kind = storageKind(config.storage);
  if (kind.usesDataDir) await ensureDataDir(config.dataDir, log);
  return await kind.open(config, { ...context, hostname: hostname(), log: (line) => log.info(line) });
}

/**
 * Warns about data that other accounts of this machine can reach: a file
 * others can read holds password hashes (and, for the original's data,
 * unsalted ones); a folder others can write lets them replace the files.
 * A folder others can only list exposes file names, not their contents:
 * no warning (a checkout or a home folder usually is one, and the service's
 * own files are 0600). New files are created 0600, a new data folder 0700.
 */
async function warnIfReadableByOthers(paths: string[], log: Logger): Promise<void> {
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    const mode = (info.mode & 0o777).toString(8).padStart(3, "0");
    if (info.isDirectory()) {
      if ((info.mode & 0o022) === 0) continue;
      log.warn(
        `${path} can be written by other users of this machine (mode ${mode}), who could replace the data files; restrict it: chmod go-w ${path}`,
      );
    } else if ((info.mode & 0o077) !== 0) {
      log.warn(
        `${path} can be read by other users of this machine (mode ${mode}) and holds password hashes; restrict it: chmod 600 ${path}`,
      );
    }
  }
}

/** Creates DATA_DIR when it does not exist yet (a fresh install), or says clearly why it cannot. */
async function ensureDataDir(dir: string, log: Logger): Promise<void> {
  try {
    if (await makeFolders(dir)) log.info(`created the data folder ${dir}`);
  } catch (e) {
    throw new StartupError(`Cannot create DATA_DIR ${JSON.stringify(dir)}: ${(e as Error).message}`);
  }
}

const code = (e: unknown) => (e as { code?: string }).code;

/**
 * Creates `dir` and the missing folders above it, one level at a time;
 * true when it created any. (`mkdir`'s own `recursive` spins forever on
 * Node 20 under a parent that refuses new folders, like /proc.)
 */
async function makeFolders(dir: string): Promise<boolean> {
  const missing: string[] = [];
  for (let d = resolve(dir);; d = dirname(d)) {
    const info = await stat(d).catch((e) => (code(e) === "ENOENT" ? null : Promise.reject(e)));
    if (info?.isDirectory()) break;
    if (info) throw new Error(`${d} is not a folder`);
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    // Another process starting at the same time may have made it first.
    await mkdir(d, { mode: PRIVATE_FOLDER }).catch((e) => (code(e) === "EEXIST" ? undefined : Promise.reject(e)));
  }
  return missing.length > 0;
}
