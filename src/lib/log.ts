/** Values a structured log line may carry. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A leveled logger writing one line per event to a sink the entry file provides. */
export type Logger = {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, err?: unknown): void;
  /** One structured line at info: `kind` ("access", "auth") and its fields (undefined ones left out). */
  record(kind: string, fields: LogFields): void;
  /** Whether info lines are written (callers skip building lines nobody reads). */
  readonly infoEnabled: boolean;
};

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LogFormat = "text" | "json";

// deno-lint-ignore no-control-regex -- finding control characters is the point.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const escapeControl = (c: string) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * Text with every control character escaped (`\n`, `\u001b`...): a client
 * controls paths, emails and header values, and a raw line break would let
 * it forge a whole log line, a raw ESC drive the terminal that shows the log.
 */
function escapeControls(s: string): string {
  CONTROL.lastIndex = 0;
  return CONTROL.test(s) ? s.replace(CONTROL, escapeControl) : s;
}

/** `key=value` text of a field, quoted when it holds spaces, quotes, `=` or control characters (escaped). */
function textValue(v: string | number | boolean | null): string {
  const s = String(v);
  // JSON.stringify escapes C0 controls but not DEL and C1.
  // deno-lint-ignore no-control-regex -- finding control characters is the point.
  return /[\s"=\x00-\x1f\x7f-\x9f]/.test(s) || s === "" ? escapeControls(JSON.stringify(s)) : s;
}

let isoSecond = NaN;
let isoPrefix = "";
/**
 * `new Date().toISOString()`, with the part up to the second made once per
 * second: the access log writes a line per request (measured 0.06 µs a
 * call against 0.5 µs for `toISOString` on Node and Deno, 0.17 on Bun).
 */
export function isoNow(time: number = Date.now()): string {
  const ms = Math.floor(time);
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString(); // "2026-12-01T03:04:05.000Z"
    if (iso.length !== 24) return new Date(ms).toISOString(); // years past 9999 or before 0
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${isoPrefix}${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac}Z`;
}

/**
 * A logger writing lines at `level` and above to `write`: as text,
 * `<ISO time> <level> <message>` (structured records as `key=value`
 * pairs), or as one JSON object per line (`LOG_FORMAT=json`), for log
 * collectors.
 *
 * @example const log = createLogger("info", (line) => console.error(line), "json");
 *          log.record("auth", { event: "login", user_id: "u1" });
 */
export function createLogger(level: LogLevel, write: (line: string) => void, format: LogFormat = "text"): Logger {
  const min = LEVELS[level];
  const line = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const time = isoNow();
    if (format === "json") {
      const o: Record<string, unknown> = { time, level: lvl };
      if (msg) o.msg = msg;
      if (fields) { for (const k in fields) if (fields[k] !== undefined) o[k] = fields[k]; }
      write(JSON.stringify(o));
      return;
    }
    let text = `${time} ${lvl} ${escapeControls(msg)}`;
    if (fields) {
      for (const k in fields) {
        const v = fields[k];
        // Numbers never need quotes: no test of their text (an access line has two).
        if (v !== undefined) text += ` ${k}=${typeof v === "number" ? v : textValue(v)}`;
      }
    }
    write(text);
  };
  return {
    debug: (m) => line("debug", m),
    info: (m) => line("info", m),
    warn: (m) => line("warn", m),
    error: (m, err) => line("error", err === undefined ? m : `${m}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    record: (kind, fields) => line("info", kind, fields),
    infoEnabled: LEVELS.info >= min,
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger("silent", () => {});
