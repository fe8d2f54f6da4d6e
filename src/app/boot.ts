import type { Context } from "hono";
import { createPasswordHasher } from "../auth/password.ts";
import { PAGE_FILES, type PageContents } from "../http/page-routes.ts";
import { StartupError } from "../domain/errors.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { createOutbox, type MailTransport } from "../lib/outbox.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { type Config, parseConfig } from "./config.ts";
import { type App, createApp } from "./create-app.ts";
import { openStorage, type StorageContext } from "./open-storage.ts";
import { checkSecretKey } from "./secret-key-check.ts";
import { type PackageInfo, packageInfo, readPackageFile } from "./package-files.ts";

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
  /** Builds SMTP_URL's transport (src/entry/smtp.ts: SMTP needs node:net and node:tls, which the core does not import). */
  mailTransport?: (smtpUrl: string, log: Logger) => MailTransportHandle;
};

/** A mail transport and how to release it (its pooled connections) at the end. */
export type MailTransportHandle = { transport: MailTransport; close(): void };

export type Booted = {
  app: App;
  config: Config;
  driver: StorageDriver;
  log: Logger;
  version: string;
  /** The mail transport, to close once the mail is drained; null without SMTP_URL. */
  mail: MailTransportHandle | null;
};

/**
 * Everything between reading the environment and serving: configuration,
 * storage and the app. Throws `StartupError` on anything the user must fix.
 */
export async function boot(options: BootOptions): Promise<Booted> {
  const config = parseConfig(options.env, options.cwd);
  const log = createLogger(config.logLevel, options.writeLog, config.logFormat);
  const exposed = exposureWarning(config);
  if (exposed) log.warn(exposed);
  // Read before anything is opened, so that a broken install fails at once rather than on a page request.
  const { service, pages } = readInstall();
  const driver = await openStorage(config, options, log);
  try {
    await checkSecretKey(driver, config.secretKey);
  } catch (e) {
    await driver.close();
    throw e;
  }
  const hasher = createPasswordHasher({ concurrency: config.hashConcurrency ?? options.cores ?? 2 });
  const mail = config.smtpUrl && options.mailTransport ? options.mailTransport(config.smtpUrl, log) : null;
  if (config.smtpUrl === "log:") {
    log.warn("SMTP_URL=log: emails are written to this log, their links included, instead of being sent: for development only");
  }
  const outbox = mail && config.mailFrom ? createOutbox({ transport: mail.transport, from: config.mailFrom, log }) : null;
  const app = createApp({
    config,
    driver,
    log,
    hasher,
    peerAddress: options.peerAddress,
    schedule: options.schedule,
    service,
    pages,
    outbox,
  });
  return { app, config, driver, log, version: service.version, mail };
}

/** The package's name and version and the files of its pages (boot; tests building the app themselves). */
export function readInstall(): { service: PackageInfo; pages: PageContents } {
  try {
    return { service: packageInfo(), pages: new Map(PAGE_FILES.map((f) => [f.path, readPackageFile(f.source)])) };
  } catch (e) {
    throw new StartupError(`Cannot read the service's own files (${(e as Error).message}): reinstall it with npm ci`);
  }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\]|localhost)$/i;

/**
 * The warning for a server nobody has to log in to that listens beyond this
 * machine (the default API_HOST is 0.0.0.0, as the original's), or null.
 */
export function exposureWarning(config: Pick<Config, "auth" | "host" | "port">): string | null {
  if (config.auth.strategy !== "none" || LOOPBACK.test(config.host)) return null;
  return `AUTH_TYPE is unset and API_HOST is ${config.host}: anyone who can reach port ${config.port} ` +
    `can read, change and delete every user. Set AUTH_TYPE, or API_HOST=127.0.0.1 to keep the service on this machine`;
}
