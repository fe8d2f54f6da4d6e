import type { Context } from "hono";
import { createPasswordHasher } from "../auth/password.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { type Config, parseConfig } from "./config.ts";
import { type App, createApp } from "./create-app.ts";
import { openStorage, type StorageContext } from "./open-storage.ts";

/** What an entry file hands the runtime-neutral startup. */
export type BootOptions = StorageContext & {
  /** The folder the command was started from: relative paths are taken from it. */
  cwd: string;
  runtime: string;
  writeLog: (line: string) => void;
  /** Background tasks of the app (see AppDeps.schedule). */
  schedule?: (name: string, everyMs: number, task: () => Promise<unknown>) => void;
  /** Peer address of a request, from the runtime's server (see the entry files). */
  peerAddress?: (c: Context) => string | undefined;
};

export type Booted = { app: App; config: Config; driver: StorageDriver; log: Logger };

/**
 * Everything between reading the environment and serving: configuration,
 * storage and the app. Throws `StartupError` on anything the user must fix.
 */
export async function boot(options: BootOptions): Promise<Booted> {
  const config = parseConfig(options.env, options.cwd);
  const log = createLogger(config.logLevel, options.writeLog);
  const driver = await openStorage(config, options, log);
  const hasher = createPasswordHasher({ concurrency: config.hashConcurrency ?? options.cores ?? 2 });
  const app = createApp({ config, driver, log, hasher, peerAddress: options.peerAddress, schedule: options.schedule });
  return { app, config, driver, log };
}
