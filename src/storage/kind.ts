import type { SessionLifetime } from "../domain/records.ts";
import type { StorageDriver } from "./driver.ts";

/**
 * What a kind of storage tells the rest of the service about itself: how
 * it is opened, where its data lives, and how the CLI names it. Each driver
 * folder exports one (its `storage.ts`); `registry.ts` lists them.
 */

/** The settings a storage is opened with (the configuration's, or a migration target's). */
export type StorageSettings = {
  dataDir: string;
  kvPath: string | null;
  kvUrl: string | null;
  databaseUrl: string | null;
  databasePoolSize: number | null;
  sessionLifetime: SessionLifetime;
};

/** What opening a storage needs from the runtime. */
export type OpenContext = {
  env: Record<string, string | undefined>;
  pid: number;
  hostname: string;
  /** Deno's built-in `Deno.openKv`; absent on Node and Bun (they use `@deno/kv`). */
  denoOpenKv?: (path?: string) => Promise<unknown>;
  /** Cores this process may use (PostgreSQL's pool size by default). */
  cores?: number;
  /** A command-line run: a remote storage may take its time (exports of large stores). */
  batch?: boolean;
  log: (line: string) => void;
};

/**
 * How `cli migrate --to <name>` names where the target is (`--<flag>
 * <value>`), and the settings that place turns into; `refused` instead: why
 * the CLI cannot use this storage at all.
 */
export type CliPlace =
  | { flag: string; value: string; settings(where: string, cwd: string): Partial<StorageSettings> }
  | { refused: string };

/** One kind of storage. */
export type StorageKind<N extends string = string> = {
  readonly name: N;
  /** Keeps its data in DATA_DIR, which is created on a first start. */
  readonly usesDataDir: boolean;
  /** DATA_DIR holds the original's data files as they are: there is nothing to import from it. */
  readonly holdsDataFiles: boolean;
  /**
   * On a first start (an empty store), takes in the original's data files
   * found in DATA_DIR. Not a store that holds them as they are (file), nor
   * one that vanishes with the process (memory, which starts empty).
   */
  readonly importsDataFiles: boolean;
  /** Needs DATABASE_URL, checked when the configuration is read. */
  readonly needsDatabaseUrl: boolean;
  readonly cli: CliPlace;
  /** Where the data lives, known before opening: tells a migration's target from its source. */
  where(s: StorageSettings): string;
  /** Files and folders of this machine holding the data (password hashes): startup warns when others can read them. */
  dataPaths(s: StorageSettings): string[];
  /** Opens the store (loading the driver's modules only now). Throws `StartupError` with one line when it cannot. */
  open(s: StorageSettings, c: OpenContext): Promise<StorageDriver>;
};
