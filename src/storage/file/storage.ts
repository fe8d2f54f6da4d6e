import { join, resolve } from "node:path";
import type { StorageKind } from "../kind.ts";

/** `STORAGE=file`: the original's two JSON files in DATA_DIR, kept in its format. */
export const fileStorage: StorageKind<"file"> = {
  name: "file",
  usesDataDir: true,
  holdsDataFiles: true,
  importsDataFiles: false,
  needsDatabaseUrl: false,
  cli: { flag: "folder", value: "folder", settings: (where, cwd) => ({ dataDir: resolve(cwd, where) }) },
  where: (s) => resolve(s.dataDir),
  dataPaths: (s) => [s.dataDir, join(s.dataDir, ".db_User.json"), join(s.dataDir, ".db_UserSession.json")],
  async open(s, c) {
    const { openFileDriver } = await import("./index.ts");
    return await openFileDriver({ dir: s.dataDir, pid: c.pid, hostname: c.hostname, log: c.log });
  },
};
