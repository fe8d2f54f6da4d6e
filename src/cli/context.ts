import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { StorageDriver } from "../storage/types.ts";

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
  /** PBKDF2 iterations; undefined: the production default. */
  iterations?: number;
};

/** Records per progress step and per `importRecords` call on large inputs. */
export const PROGRESS_STEP = 10_000;

/**
 * Calls `step(from, to)` for consecutive slices of `total` items and reports
 * progress to stderr after each slice, but only for inputs larger than one
 * slice (a small import stays quiet: its summary line says it all).
 */
export async function inSteps(total: number, io: CliIo, label: (done: number) => string, step: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < total; from += PROGRESS_STEP) {
    const to = Math.min(total, from + PROGRESS_STEP);
    await step(from, to);
    if (total > PROGRESS_STEP) io.err(label(to));
  }
}
