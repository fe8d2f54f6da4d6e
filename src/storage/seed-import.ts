import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { formatTimestamp } from "../domain/types.ts";
import type { SessionRecord, UserRecord } from "../domain/types.ts";
import { parseSessions, parseUsers, SESSION_FILE, USER_FILE } from "./seed-format.ts";
import type { ImportSummary, StorageDriver } from "./types.ts";

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return null;
    throw e;
  }
}

/**
 * Reads a data folder of the original project (`.db_User.json`,
 * `.db_UserSession.json`); null when it holds neither file. Throws
 * `StartupError` naming the file when one does not parse.
 */
export async function readSeedFolder(dir: string, now: number): Promise<{ users: UserRecord[]; sessions: SessionRecord[] } | null> {
  const nowIso = formatTimestamp(now);
  const usersText = await readIfExists(join(dir, USER_FILE));
  const sessionsText = await readIfExists(join(dir, SESSION_FILE));
  if (usersText === null && sessionsText === null) return null;
  return {
    users: usersText === null ? [] : parseUsers(usersText, join(dir, USER_FILE), nowIso),
    sessions: sessionsText === null ? [] : parseSessions(sessionsText, join(dir, SESSION_FILE), nowIso).sessions,
  };
}

/** Imports a seed folder into a driver; null when the folder holds no seed files. */
export async function importSeedFolder(driver: StorageDriver, dir: string, now: number): Promise<ImportSummary | null> {
  const data = await readSeedFolder(dir, now);
  if (!data) return null;
  return driver.importRecords(data.users, data.sessions);
}
