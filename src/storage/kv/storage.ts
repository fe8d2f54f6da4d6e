import { join, resolve } from "node:path";
import type { StorageKind, StorageSettings } from "../kind.ts";

/** KV_URL, else KV_PATH, else auth.kv in DATA_DIR. */
const target = (s: StorageSettings) => s.kvUrl ?? s.kvPath ?? join(s.dataDir, "auth.kv");

/** `STORAGE=kv`: Deno KV, a local SQLite file (KV_PATH) or a remote database (KV_URL). */
export const kvStorage: StorageKind<"kv"> = {
  name: "kv",
  usesDataDir: true,
  holdsDataFiles: false,
  importsDataFiles: true,
  needsDatabaseUrl: false,
  cli: {
    flag: "kv-path",
    value: "file",
    settings: (where, cwd) => ({ kvPath: where === ":memory:" ? where : resolve(cwd, where), kvUrl: null }),
  },
  where: target,
  dataPaths(s) {
    const file = target(s);
    return s.kvUrl || file === ":memory:" ? [] : [file];
  },
  async open(s, c) {
    const { openKvStore } = await import("./open.ts");
    const { createKvDriver } = await import("./index.ts");
    const where = target(s);
    const kv = await openKvStore(where, { denoOpenKv: c.denoOpenKv }, c.env.DENO_KV_ACCESS_TOKEN);
    return createKvDriver(kv, {
      now: Date.now,
      sessionLifetime: s.sessionLifetime,
      location: /^https?:/i.test(where) ? where : resolve(where),
    });
  },
};
