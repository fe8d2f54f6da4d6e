import type { Config } from "../app/config.ts";
import type { PasswordHasher } from "../domain/passwords.ts";
import type { Logger } from "../lib/log.ts";
import type { StorageDriver } from "../storage/driver.ts";

/**
 * What the commands see of the outside world. The entry file builds it from
 * the runtime's stdout, stderr and stdin; tests build it from arrays, so
 * every command runs in-process.
 */
export type CliIo = {
  /** Writes `text` and a newline to stdout: results, summaries. */
  out(text: string): void;
  /** Writes `text` and a newline to stderr: errors, progress, logs. */
  err(text: string): void;
  /**
   * A password from stdin (its first line, when piped) or typed at a prompt
   * without echo (twice when `confirm`). Never from argv.
   */
  readPassword(confirm: boolean): Promise<string>;
};

/** A failure the user can act on: printed as `error: <message>`, exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Everything a command needs once the storage is open. */
export type CommandContext = {
  io: CliIo;
  config: Config;
  driver: StorageDriver;
  log: Logger;
  now: () => number;
  hasher: PasswordHasher;
};
