import { mkdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { StartupError, StorageUnavailableError } from "../domain/errors.ts";
import type { Logger } from "../lib/log.ts";
import { ImportBusyError, type StorageDriver } from "../storage/driver.ts";
import { PRIVATE_FOLDER } from "../storage/fs.ts";
import { prepareStore } from "../storage/import.ts";
import { createMemoryDriver } from "../storage/memory/index.ts";
import { defaultPoolSize } from "../storage/postgres/url.ts";
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
  await warnIfReadableByOthers(dataPaths(config), log);
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
  if (config.storage === "memory") return createMemoryDriver();
  if (config.storage === "postgres") return await openPostgresDriver(config, context);
  await ensureDataDir(config.dataDir, log);
  if (config.storage === "file") {
    const { openFileDriver } = await import("../storage/file/index.ts");
    return openFileDriver({ dir: config.dataDir, pid: context.pid, hostname: hostname(), log: (l) => log.info(l) });
  }
  const { openKvStore } = await import("../storage/kv/open.ts");
  const { createKvDriver } = await import("../storage/kv/index.ts");
  const target = config.kvUrl ?? config.kvPath ?? join(config.dataDir, "auth.kv");
  const kv = await openKvStore(target, { denoOpenKv: context.denoOpenKv }, context.env.DENO_KV_ACCESS_TOKEN);
  return createKvDriver(kv, {
    now: Date.now,
    sessionLifetime: config.sessionLifetime,
    location: /^https?:/i.test(target) ? target : resolve(target),
  });
}

/** PostgreSQL: the pool sized from the cores unless DATABASE_POOL_SIZE says, the schema brought up to date. */
async function openPostgresDriver(config: Config, context: StorageContext): Promise<StorageDriver> {
  const { openPostgres } = await import("../storage/postgres/connect.ts");
  const { createPostgresDriver } = await import("../storage/postgres/index.ts");
  const { sql, target } = await openPostgres(config.databaseUrl ?? "", {
    poolSize: config.databasePoolSize ?? defaultPoolSize(context.cores ?? 1),
    applicationName: context.batch ? "session-auth-api cli" : "session-auth-api",
    statementTimeoutMs: context.batch ? 10 * 60_000 : 5000,
  });
  return createPostgresDriver(sql, {
    now: Date.now,
    location: target.display,
    sessionLifetime: config.sessionLifetime,
    deadlineMs: context.batch ? 10 * 60_000 : undefined,
  });
}

/**
 * Warns about data that other accounts of this machine can read: the files
 * hold password hashes (and, for the original's data, unsalted ones). New
 * files are created 0600 and a new data folder 0700; older ones may not be.
 */
async function warnIfReadableByOthers(paths: string[], log: Logger): Promise<void> {
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info || (info.mode & 0o077) === 0) continue;
    const mode = (info.mode & 0o777).toString(8).padStart(3, "0");
    const fix = info.isDirectory() ? `chmod 700 ${path}` : `chmod 600 ${path}`;
    log.warn(`${path} can be read by other users of this machine (mode ${mode}) and holds password hashes; restrict it: ${fix}`);
  }
}

/** The data files of a storage, for the check above. */
function dataPaths(config: Config): string[] {
  if (config.storage === "file") {
    return [config.dataDir, join(config.dataDir, ".db_User.json"), join(config.dataDir, ".db_UserSession.json")];
  }
  if (config.storage === "kv" && !config.kvUrl) {
    const file = config.kvPath ?? join(config.dataDir, "auth.kv");
    return file === ":memory:" ? [] : [file];
  }
  return [];
}

/** Creates DATA_DIR when it does not exist yet (a fresh install), or says clearly why it cannot. */
async function ensureDataDir(dir: string, log: Logger): Promise<void> {
  try {
    if (await mkdir(dir, { recursive: true, mode: PRIVATE_FOLDER })) log.info(`created the data folder ${dir}`);
  } catch (e) {
    throw new StartupError(`Cannot create DATA_DIR ${JSON.stringify(dir)}: ${(e as Error).message}`);
  }
}
