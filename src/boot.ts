import { createApp, type App } from "./app.ts";
import { parseConfig, type Config } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMemoryDriver } from "./storage/memory.ts";
import { prepareStore } from "./storage/seed-import.ts";
import { ImportBusyError, type StorageDriver } from "./storage/types.ts";
import { join, resolve } from "node:path";
import { hostname } from "node:os";
import { mkdir, stat } from "node:fs/promises";
import { PRIVATE_FOLDER } from "./storage/fs-util.ts";
import { StartupError } from "./domain/errors.ts";
import { setHashConcurrency } from "./auth/password.ts";
import type { Context } from "hono";

/** What an entry file hands the runtime-neutral startup. */
export type BootOptions = {
  env: Record<string, string | undefined>;
  cwd: string;
  pid: number;
  runtime: string;
  /** Deno's built-in `Deno.openKv`; absent on Node and Bun (they use `@deno/kv`). */
  denoOpenKv?: (path?: string) => Promise<unknown>;
  writeLog: (line: string) => void;
  /** Cores this process may use (the default PBKDF2 concurrency). */
  cores?: number;
  /** Background tasks of the app (see AppDeps.schedule). */
  schedule?: (name: string, everyMs: number, task: () => Promise<unknown>) => void;
  /** Peer address of a request, from the runtime's server (see the entry files). */
  peerAddress?: (c: Context) => string | undefined;
};

export type Booted = { app: App; config: Config; driver: StorageDriver; log: Logger };

/** Opens the configured storage. Throws `StartupError` with one clear line when it cannot. */
export async function openStorage(config: Config, o: BootOptions, log: Logger): Promise<StorageDriver> {
  if (config.storage === "memory") return createMemoryDriver();
  await ensureDataDir(config.dataDir, log);
  if (config.storage === "file") {
    const { openFileDriver } = await import("./storage/file.ts");
    return openFileDriver({ dir: config.dataDir, pid: o.pid, hostname: hostname(), log: (l) => log.info(l) });
  }
  const { openKvStore } = await import("./storage/kv-open.ts");
  const { createKvDriver } = await import("./storage/kv.ts");
  const target = config.kvUrl ?? config.kvPath ?? join(config.dataDir, "auth.kv");
  const kv = await openKvStore(target, { denoOpenKv: o.denoOpenKv }, o.env.DENO_KV_ACCESS_TOKEN);
  return createKvDriver(kv, { now: Date.now, sessionTtlSeconds: config.sessionDuration, location: /^https?:/i.test(target) ? target : resolve(target) });
}

/**
 * Warns about data that other accounts of this machine can read: the files
 * hold password hashes (and, for the original's data, unsalted ones). New
 * files are created 0600 and a new data folder 0700; older ones may not be.
 */
export async function warnIfReadableByOthers(paths: string[], log: Logger): Promise<void> {
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
  if (config.storage === "file") return [config.dataDir, join(config.dataDir, ".db_User.json"), join(config.dataDir, ".db_UserSession.json")];
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

/**
 * Everything between reading the environment and serving: configuration,
 * storage (importing the original's data files once into an empty non-file
 * store) and the app. Throws `StartupError` on anything the user must fix.
 */
export async function boot(o: BootOptions): Promise<Booted> {
  const config = parseConfig(o.env, o.cwd);
  const log = createLogger(config.logLevel, o.writeLog);
  setHashConcurrency(config.hashConcurrency ?? o.cores ?? 2);
  const driver = await openStorage(config, o, log);
  await warnIfReadableByOthers(dataPaths(config), log);
  try {
    await prepareStore({ driver, pid: o.pid, hostname: hostname(), now: Date.now, say: (line) => log.info(line) }, config.dataDir);
  } catch (e) {
    await driver.close();
    throw e instanceof ImportBusyError ? new StartupError(e.message) : e;
  }
  return { app: createApp({ config, driver, log, peerAddress: o.peerAddress, schedule: o.schedule }), config, driver, log };
}
