/** A minimal leveled logger writing one line per event to a sink the entry file provides. */
export type Logger = {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, err?: unknown): void;
};

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;

/** A logger writing `<ISO time> <level> <message>` lines at `level` and above to `write`. */
export function createLogger(level: keyof typeof LEVELS, write: (line: string) => void): Logger {
  const min = LEVELS[level];
  const at = (lvl: keyof typeof LEVELS, msg: string) => {
    if (LEVELS[lvl] >= min) write(`${new Date().toISOString()} ${lvl} ${msg}`);
  };
  return {
    debug: (m) => at("debug", m),
    info: (m) => at("info", m),
    warn: (m) => at("warn", m),
    error: (m, err) => at("error", err === undefined ? m : `${m}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger("silent", () => {});
