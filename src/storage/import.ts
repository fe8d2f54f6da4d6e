import { StartupError, UserGoneError } from "../domain/errors.ts";
import type { AccountRecord } from "../domain/accounts.ts";
import { readAccountFile } from "./data-files/accounts.ts";
import { formatTimestamp } from "../domain/records.ts";
import type { SessionRecord, UserRecord } from "../domain/records.ts";
import { realFs } from "./fs.ts";
import { counted, tenths } from "../lib/progress.ts";
import { readDataFiles } from "./data-files/read.ts";
import { STORAGE_KINDS } from "./registry.ts";
import { ImportBusyError, type ImportProgress, type ImportSummary, type PendingImport, type StorageDriver } from "./driver.ts";

/** The records of a data folder of the original, and our account records when the folder holds them (written by us). */
export type FolderData = { users: UserRecord[]; sessions: SessionRecord[]; accounts?: AccountRecord[] };

/**
 * Reads a data folder of the original project (`.db_User.json`,
 * `.db_UserSession.json`) with the file storage's own strict reader; null
 * when it holds neither file. Throws `StartupError` naming the file, line
 * and column when one does not parse.
 */
export async function readDataFolder(dir: string, now: number): Promise<FolderData | null> {
  const read = await readDataFiles(realFs, dir, formatTimestamp(now));
  return read.found ? { users: read.users, sessions: read.sessions, accounts: await readAccountFile(realFs, dir) } : null;
}

export type ImportContext = {
  driver: StorageDriver;
  pid: number;
  hostname: string;
  now: () => number;
  /** Progress and summary lines (the server's log, the CLI's stderr). */
  say: (line: string) => void;
};

const n = (x: number) => x.toLocaleString("en-US");

/** Reports progress of large imports (10,000 records or more): one line per tenth done, per phase. */
function progressReporter(ctx: ImportContext, source: string): (p: ImportProgress) => void {
  const phases = new Map<string, (done: number) => void>();
  return (p) => {
    let report = phases.get(p.phase);
    if (!report) {
      report = tenths(
        p.total,
        (done, pct) => ctx.say(`importing ${source} into ${ctx.driver.kind} storage: ${n(done)}/${n(p.total)} ${p.phase} (${pct}%)`),
      );
      phases.set(p.phase, report);
    }
    report(p.done);
  };
}

/**
 * Imports `data`, all or nothing (see `StorageDriver.importRecords`),
 * reporting progress; then the account records of the source's users. Those
 * come after, one by one: an import stopped between the two leaves users
 * without their grants (never a grant without its user), and importing
 * again adds them, since putting a record twice gives the same state.
 */
export async function importFolder(ctx: ImportContext, source: string, data: FolderData): Promise<ImportSummary> {
  const summary = await ctx.driver.importRecords(data.users, data.sessions, {
    source,
    pid: ctx.pid,
    hostname: ctx.hostname,
    onProgress: progressReporter(ctx, source),
  });
  const ids = new Set(data.users.map((u) => u.id));
  for (const account of data.accounts ?? []) {
    // A grant names the address it was made for, so it proves nothing for a
    // stored user of the same id with another email (see isProvenAdmin).
    if (!ids.has(account.user_id)) continue;
    await ctx.driver.putAccount(account).catch((e) => {
      if (!(e instanceof UserGoneError)) throw e;
    });
  }
  return summary;
}

/** One line: what an import did. */
function describeImport(source: string, kind: string, s: ImportSummary): string {
  const part = (what: string, c: { imported: number; skipped: number }) =>
    counted(n(c.imported), what) + (c.skipped ? ` (${n(c.skipped)} skipped)` : "");
  return `imported the data files of ${source} into ${kind} storage: ${part("user", s.users)}, ${part("session", s.sessions)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits while another process imports; resolves with the import once it is finished (null) or abandoned. */
export async function waitForImport(ctx: ImportContext, pending: PendingImport): Promise<PendingImport | null> {
  ctx.say(
    `waiting for the import of ${pending.source} by process ${pending.pid} on ${pending.hostname} to finish (${n(pending.users_done)}/${
      n(pending.users_total)
    } users)`,
  );
  let lastSaid = ctx.now();
  for (let p: PendingImport | null = pending; p; p = await ctx.driver.pendingImport()) {
    if (!p.active) return p;
    if (ctx.now() - lastSaid >= 5_000) {
      lastSaid = ctx.now();
      ctx.say(
        `still waiting for the import of ${p.source}: ${n(p.users_done)}/${n(p.users_total)} users, ${n(p.sessions_done)}/${
          n(p.sessions_total)
        } sessions`,
      );
    }
    await sleep(250);
  }
  return null;
}

/** Completes an import that was stopped before it finished, from its source folder. */
async function completeImport(ctx: ImportContext, pending: PendingImport): Promise<void> {
  ctx.say(
    `completing the import of ${pending.source} that was stopped at ${n(pending.users_done)}/${
      n(pending.users_total)
    } users (started ${pending.started_at})`,
  );
  let data: FolderData | null;
  try {
    data = await readDataFolder(pending.source, ctx.now());
  } catch (e) {
    data = null;
    if (!(e instanceof StartupError)) throw e;
    throw cannotComplete(pending, e.message);
  }
  if (!data) throw cannotComplete(pending, `${pending.source} no longer holds the data files`);
  ctx.say(describeImport(pending.source, ctx.driver.kind, await importFolder(ctx, pending.source, data)));
}

function cannotComplete(pending: PendingImport, why: string): StartupError {
  return new StartupError(
    `An import of ${pending.source} into this store was stopped before it finished and cannot be completed: ${why}. ` +
      `Restore that folder and start again, or run "cli import --abort" to remove what it added`,
  );
}

/**
 * Brings a store up to date before it serves (server and CLI alike):
 * finishes an import that was stopped (or waits for one in progress in
 * another process), then, on an empty store of a kind that takes in the
 * original's files (kv, postgres: see `importsDataFiles`), imports the
 * files found in `dataDir` once; `dataDir` null: no such import (`cli
 * import <folder>` reads only the folder it names).
 */
export async function prepareStore(ctx: ImportContext, dataDir: string | null): Promise<void> {
  let pending = await ctx.driver.pendingImport();
  if (pending?.active) pending = await waitForImport(ctx, pending);
  if (pending) await completeImport(ctx, pending);
  if (dataDir === null || !STORAGE_KINDS.some((k) => k.name === ctx.driver.kind && k.importsDataFiles)) return;
  if (!(await ctx.driver.isEmpty())) return;
  const data = await readDataFolder(dataDir, ctx.now());
  if (!data) return;
  try {
    ctx.say(describeImport(dataDir, ctx.driver.kind, await importFolder(ctx, dataDir, data)));
  } catch (e) {
    // Several processes started at once on one empty store: one imports, the others wait for it.
    if (!(e instanceof ImportBusyError)) throw e;
    const finished = await waitForImport(ctx, e.pending);
    if (finished) await completeImport(ctx, finished);
  }
}
