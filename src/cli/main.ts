import { resolve } from "node:path";
import { hostname } from "node:os";
import { type Config, parseConfig } from "../app/config.ts";
import { openStorage, type StorageContext } from "../app/open-storage.ts";
import { packageInfo } from "../app/package-files.ts";
import { createPasswordHasher } from "../auth/password.ts";
import { InvalidInputError, NotFoundError, StartupError, StorageUnavailableError } from "../domain/errors.ts";
import type { PasswordHasher } from "../domain/passwords.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { openFileReadOnly } from "../storage/file/index.ts";
import { FolderInUseError } from "../storage/file/lock.ts";
import { type FolderData, type ImportContext, prepareStore } from "../storage/import.ts";
import { ImportBusyError, type StorageDriver } from "../storage/driver.ts";
import { cliStorageKinds, orList, storageKind } from "../storage/registry.ts";
import { type Command, parseArgs, USAGE, UsageError } from "./args.ts";
import { CliError, type CliIo, type CommandContext } from "./context.ts";
import { PasswordAborted, PasswordInputError } from "./password.ts";
import { migrateStorage, migrationTarget } from "./migrate.ts";
import { abortImport, checkExportTarget, exportData, importData, readImportSource } from "./transfer.ts";
import { sessionsEnd, sessionsList, userUnlock } from "./session-commands.ts";
import { userFactors, userResetFactors } from "./factor-commands.ts";
import { userAdd, userAdmin, userDelete, userList, userPasswd } from "./user-commands.ts";
import { userResetLink, userVerify } from "./link-commands.ts";

/** What the entry file (or a test) hands the CLI. */
export type CliOptions = StorageContext & {
  io: CliIo;
  /** The folder the command was started from: relative paths are taken from it. */
  cwd: string;
  /** Tests: the driver to use instead of opening the configured storage. It is closed at the end, as an opened one is. */
  openDriver?: (config: Config) => Promise<StorageDriver>;
  now?: () => number;
  /** Tests: a cheaper hasher; default: the production one. */
  hasher?: PasswordHasher;
};

/** Exit statuses: 0 done, 1 failed, 2 bad arguments, 130 interrupted at the password prompt (as a shell reports Ctrl-C). */
const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * Runs one CLI invocation and returns its exit status. Never throws: every
 * failure is reported on `io.err`, and the storage is closed (flushed)
 * whatever happens once it was opened.
 *
 * @example await runCli(["user", "list"], { io, env: process.env, cwd: process.cwd(), ... })
 */
export async function runCli(argv: string[], o: CliOptions): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    o.io.err(`error: ${e.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (cmd.name === "help") {
    o.io.out(USAGE);
    return EXIT.ok;
  }
  if (cmd.name === "version") {
    const { name, version } = packageInfo();
    o.io.out(`${name} ${version}`);
    return EXIT.ok;
  }
  try {
    await execute(cmd, o);
    return EXIT.ok;
  } catch (e) {
    return report(e, o.io);
  }
}

function report(e: unknown, io: CliIo): number {
  if (e instanceof PasswordAborted) {
    io.err("aborted");
    return EXIT.interrupted;
  }
  if (e instanceof StorageUnavailableError) io.err(`error: ${e.message}: ${e.detail}`);
  else if (
    e instanceof CliError || e instanceof StartupError || e instanceof InvalidInputError || e instanceof NotFoundError ||
    e instanceof PasswordInputError
  ) io.err(`error: ${e.message}`);
  // Not a failure anyone planned for: the stack helps whoever reports it.
  else io.err(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return EXIT.failed;
}

/** Commands that only read: with STORAGE=file they work beside a server holding the folder. */
const READ_ONLY = new Set<Command["name"]>(["user-list", "user-factors", "sessions-list", "export", "migrate"]);

async function execute(cmd: Exclude<Command, { name: "help" | "version" }>, o: CliOptions): Promise<void> {
  const config = parseConfig(o.env, o.cwd);
  const place = storageKind(config.storage).cli;
  if ("refused" in place) {
    const usable = orList(cliStorageKinds().map((k) => k.name));
    throw new CliError(`STORAGE=${config.storage} ${place.refused}; use the storage your server uses (${usable})`);
  }
  const log = createLogger(config.logLevel, (line) => o.io.err(line), config.logFormat);
  const now = o.now ?? Date.now;
  // Everything that needs no storage comes first: a typo costs nothing, and a
  // password being typed at the prompt does not hold the data folder's lock.
  let password = "";
  if (cmd.name === "user-add" || cmd.name === "user-passwd") password = await o.io.readPassword(true);
  const folder = cmd.name === "import" || cmd.name === "export" ? resolve(o.cwd, cmd.folder) : "";
  const data = cmd.name === "import" ? await readImportSource(config, folder, now()) : null;
  if (cmd.name === "import" && !data) {
    o.io.out(`${folder} is already the data folder (STORAGE=file, DATA_DIR): nothing to do`);
    return;
  }
  if (cmd.name === "export") await checkExportTarget(config, folder, cmd.force);
  const target = cmd.name === "migrate" ? migrationTarget(config, cmd.to, o.cwd) : null;

  const driver = await openForCommand(cmd, config, o, log);
  log.info(`using ${driver.kind} storage at ${driver.location}`);
  const hasher = o.hasher ?? createPasswordHasher({ concurrency: config.hashConcurrency ?? 2 });
  const ctx: CommandContext = { io: o.io, config, driver, log, now, hasher };
  const imports: ImportContext = { driver, pid: o.pid, hostname: hostname(), now, say: (line) => o.io.err(line) };
  try {
    // `import <folder>` reads that folder only: DATA_DIR's own data files are not taken in on the way.
    if (cmd.name !== "import-abort") {
      await prepareStore({ ...imports, say: (line) => log.info(line) }, cmd.name === "import" ? null : config.dataDir);
    }
    await dispatch(cmd, ctx, imports, { password, data, folder, target, storage: o });
  } catch (e) {
    // The command's error is the one to report; a failing close is only logged.
    await driver.close().catch((ce) => log.error("closing the storage failed", ce));
    throw e instanceof ImportBusyError ? new CliError(e.message) : e;
  }
  // On success, a failing flush is the command's failure.
  await driver.close();
}

/**
 * Opens the configured storage. A file-storage folder held by a running
 * server is read without its lock for read-only commands; other commands
 * are told what to do instead.
 */
async function openForCommand(
  cmd: Exclude<Command, { name: "help" | "version" }>,
  config: Config,
  o: CliOptions,
  log: Logger,
): Promise<StorageDriver> {
  if (o.openDriver) return await o.openDriver(config);
  try {
    // Brought up to date below, where "import --abort" can skip it.
    return await openStorage(config, { ...o, batch: true }, log, false);
  } catch (e) {
    if (!(e instanceof FolderInUseError)) throw e;
    const holder = e.holder ? `process ${e.holder.pid} on ${e.holder.hostname}` : "another process";
    if (!READ_ONLY.has(cmd.name)) {
      throw new CliError(
        `${
          e.message.replace(/; stop that process.*$/, "")
        }; stop it to change users from the CLI, or use the API of that server (read-only commands, "user list", "sessions list" and "export", work beside it)`,
      );
    }
    log.info(`${config.dataDir} is in use by ${holder}: reading a consistent copy without its lock`);
    return await openFileReadOnly(config.dataDir, holder);
  }
}

/** What `execute` prepared for the command before opening the storage. */
type Prepared = { password: string; data: FolderData | null; folder: string; target: Config | null; storage: StorageContext };

function dispatch(
  cmd: Exclude<Command, { name: "help" | "version" }>,
  ctx: CommandContext,
  imports: ImportContext,
  { password, data, folder, target, storage }: Prepared,
): Promise<void> {
  switch (cmd.name) {
    case "user-add":
      return userAdd(ctx, cmd.email, password, cmd.firstName, cmd.lastName, cmd.admin);
    case "user-admin":
      return userAdmin(ctx, cmd.who, cmd.revoke);
    case "user-list":
      return userList(ctx, cmd.json);
    case "user-passwd":
      return userPasswd(ctx, cmd.who, password);
    case "user-delete":
      return userDelete(ctx, cmd.who);
    case "user-unlock":
      return userUnlock(ctx, cmd.email);
    case "user-factors":
      return userFactors(ctx, cmd.who);
    case "user-reset-factors":
      return userResetFactors(ctx, cmd.who);
    case "user-verify":
      return userVerify(ctx, cmd.who);
    case "user-reset-link":
      return userResetLink(ctx, cmd.who);
    case "sessions-list":
      return sessionsList(ctx, cmd.who, cmd.json);
    case "sessions-end":
      return sessionsEnd(ctx, cmd.who, cmd.session);
    case "import":
      return importData(ctx, imports, folder, data!);
    case "import-abort":
      return abortImport(ctx, imports);
    case "export":
      return exportData(ctx, folder);
    case "migrate":
      return migrateStorage(ctx, imports, storage, target!);
  }
}
