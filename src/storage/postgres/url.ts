/**
 * DATABASE_URL, checked before anything connects. postgres.js does not
 * refuse a URL it cannot use: an empty one, `postgres://` or an http:// URL
 * silently become "the local server as the current OS user" (PGHOST, PGUSER
 * and friends), which would start a service on a database nobody chose. So
 * the host, the user and the database must all be spelled out.
 */

/** The parts of a DATABASE_URL worth showing: never the password. */
export type DatabaseTarget = {
  host: string;
  port: number;
  database: string;
  user: string;
  /** `host:port/database`, for the startup line and error messages. */
  display: string;
  /** True when the URL carries a password. */
  hasPassword: boolean;
};

const SHAPE = "postgres://user[:password]@host[:port]/database";

/**
 * Parses a DATABASE_URL, or throws an Error whose message says what is
 * wrong without repeating the URL (it may hold a password).
 *
 * @example parseDatabaseUrl("postgres://app:secret@db.internal:5432/auth?sslmode=require").display // "db.internal:5432/auth"
 */
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  const text = raw.trim();
  if (!text) throw new Error(`DATABASE_URL is empty; expected ${SHAPE}`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`DATABASE_URL is not a valid URL; expected ${SHAPE}`);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql:// (not ${u.protocol}//); expected ${SHAPE}`);
  }
  const host = u.hostname;
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  const user = decodeURIComponent(u.username);
  const missing = [!host && "host", !user && "user", !database && "database"].filter(Boolean);
  if (missing.length) throw new Error(`DATABASE_URL has no ${missing.join(", no ")}; expected ${SHAPE}`);
  if (database.includes("/")) throw new Error(`DATABASE_URL has a path after the database name; expected ${SHAPE}`);
  const port = u.port ? Number(u.port) : 5432;
  const shownHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return { host, port, database, user, display: `${shownHost}:${port}/${database}`, hasPassword: u.password !== "" };
}

/**
 * The pool size for `cores` usable cores: twice the cores plus one (a
 * query waits on the network or the disk as often as on a CPU), at least 4.
 */
export function defaultPoolSize(cores: number): number {
  return Math.max(4, 2 * Math.max(1, Math.floor(cores)) + 1);
}
