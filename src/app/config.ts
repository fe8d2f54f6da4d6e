import { resolve } from "node:path";
import { z } from "zod";
import { AUTH_TYPES, type AuthMode, authMode, type AuthType } from "../domain/auth-mode.ts";
import { StartupError } from "../domain/errors.ts";
import type { SessionLifetime } from "../domain/records.ts";
import { parseDatabaseUrl } from "../storage/postgres/url.ts";
import { cookieDomainError, cookieDomainOf, hostInCookieDomain } from "../lib/cookie-domain.ts";

/**
 * The service's configuration, parsed from environment variables in one
 * place. Bad values fail closed: the original silently ran with no
 * authentication on an unknown AUTH_TYPE and made sessions eternal on a
 * non-integer SESSION_DURATION; here the process refuses to start instead.
 */

const STORAGES = ["file", "kv", "postgres", "memory"] as const;
export type StorageKind = (typeof STORAGES)[number];

export type Config = {
  host: string;
  port: number;
  /** AUTH_TYPE, decoded. */
  auth: AuthMode;
  sessionName: string;
  /** Seconds; 0 means sessions never expire. */
  sessionDuration: number;
  /** Seconds a session may go unused; 0: no idle limit. */
  sessionIdleTimeout: number;
  /** How long sessions live, as the auth type applies the two settings above. */
  sessionLifetime: SessionLifetime;
  storage: StorageKind;
  dataDir: string;
  kvPath: string | null;
  kvUrl: string | null;
  /** DATABASE_URL, checked (STORAGE=postgres only; null otherwise). */
  databaseUrl: string | null;
  /** DATABASE_POOL_SIZE: connections at most per process; null: from the cores (see defaultPoolSize). */
  databasePoolSize: number | null;
  passwordMinLength: number;
  maxBodyBytes: number;
  /** "auto": `Secure` when the request came over HTTPS. */
  cookieSecure: "auto" | "always" | "never";
  /** Origins (besides the request's own) whose cookie-authenticated unsafe requests are allowed (CORS_ORIGINS included). */
  trustedOrigins: string[];
  /** Origins allowed to call the API with cookies from a browser (credentialed CORS). */
  corsOrigins: string[];
  /** "open": any authenticated user may read, change and delete any user (the original); "self": only itself, but admins. */
  accessPolicy: "open" | "self";
  /** Users (by email, compared case-insensitively) who may act on every user under ACCESS_POLICY=self. */
  adminEmails: string[];
  /**
   * Proxies in front of the service whose X-Forwarded-For and
   * X-Forwarded-Proto entries are believed, counted from the service
   * outwards; 0: none (the peer address is the client).
   */
  trustProxy: number;
  /** COOKIE_DOMAIN: the `Domain` of the session cookies (lower case, no leading dot), or null: host-only cookies. */
  cookieDomain: string | null;
  /** PUBLIC_URL: the one public origin (`https://auth.example.com`), or null: from the request and the trusted proxy. */
  publicUrl: string | null;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** Log lines as text, or one JSON object per line. */
  logFormat: "text" | "json";
  /** Seconds a client has to send a request's head (a new connection, or a slow one). */
  headersTimeout: number;
  /** Seconds from a request's head to its answer (slow bodies, stuck handlers); 0: no limit. */
  requestTimeout: number;
  /** Seconds an idle keep-alive connection stays open. */
  keepAliveTimeout: number;
  /** Open connections at most; more are refused at once. 0: from the open-files limit. */
  maxConnections: number;
  /** Live sessions one user may hold; the oldest ends first. */
  maxSessionsPerUser: number;
  /** PBKDF2 computations at once; null: as many as the cores this process may use. */
  hashConcurrency: number | null;
};

type Env = Record<string, string | undefined>;

const INT = /^[+-]?\d+$/;

function fail(name: string, value: string, accepted: string): never {
  throw new StartupError(`Invalid ${name} ${JSON.stringify(value)}: expected ${accepted}`);
}

function intVar(env: Env, name: string, def: number, min: number, max: number, accepted: string): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return def;
  const t = raw.trim();
  if (!INT.test(t)) fail(name, raw, accepted);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(name, raw, accepted);
  return n;
}

function enumVar<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return def;
  const parsed = z.enum(values as [T, ...T[]]).safeParse(raw.trim());
  if (!parsed.success) fail(name, raw, `one of ${values.join(", ")}`);
  return parsed.data;
}

/**
 * Parses the environment into a `Config`, or throws `StartupError` with one
 * line naming the variable, its value and what is accepted.
 *
 * `cwd` is the folder the user started the command from: relative
 * `DATA_DIR` and `KV_PATH` resolve against it.
 *
 * @example parseConfig({ AUTH_TYPE: "session_auth", API_PORT: "5000" }, "/srv/data")
 */
export function parseConfig(env: Env, cwd: string): Config {
  const rawAuth = env.AUTH_TYPE;
  let authType: AuthType | null = null;
  if (rawAuth !== undefined && rawAuth.trim() !== "") {
    const parsed = z.enum(AUTH_TYPES).safeParse(rawAuth.trim());
    if (!parsed.success) fail("AUTH_TYPE", rawAuth, `empty (no authentication) or one of ${AUTH_TYPES.join(", ")}`);
    authType = parsed.data;
  }
  const host = (env.API_HOST ?? "").trim() || "0.0.0.0";
  if (!/^[A-Za-z0-9.:\-[\]%]+$/.test(host)) fail("API_HOST", env.API_HOST ?? "", "a host name or IP address");

  const sessionName = env.SESSION_NAME === undefined || env.SESSION_NAME.trim() === "" ? "_my_session_id" : env.SESSION_NAME.trim();
  // A cookie name is an RFC 6265 token: no separators, spaces or controls.
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(sessionName)) {
    fail("SESSION_NAME", env.SESSION_NAME ?? "", "a cookie name (letters, digits and !#$%&'*+-.^_`|~)");
  }

  const kvUrl = env.KV_URL?.trim() || null;
  if (kvUrl !== null && !/^https?:\/\/\S+$/.test(kvUrl)) fail("KV_URL", env.KV_URL ?? "", "an http:// or https:// KV Connect URL");
  // Relative paths are the user's: `cwd` is the folder the command was started from.
  const dataDir = resolve(cwd, env.DATA_DIR?.trim() || ".");
  const kvPath = env.KV_PATH?.trim() || null;

  const secure = enumVar(env, "COOKIE_SECURE", ["auto", "always", "never"] as const, "auto");
  const rawProxy = (env.TRUST_PROXY ?? "").trim().toLowerCase();
  const trustProxy = rawProxy === "" || ["false", "no", "0"].includes(rawProxy)
    ? 0
    : ["true", "yes"].includes(rawProxy)
    ? 1
    : /^\d+$/.test(rawProxy) && Number(rawProxy) <= 32
    ? Number(rawProxy)
    : fail("TRUST_PROXY", env.TRUST_PROXY ?? "", "false, true (one proxy) or the number of proxies in front, up to 32");
  const originList = (name: string) => {
    const list = (env[name] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    for (const o of list) {
      if (!/^https?:\/\/[^/\s]+$/.test(o)) fail(name, env[name] ?? "", "a comma-separated list of origins like https://app.example.com");
    }
    return list;
  };
  const corsOrigins = originList("CORS_ORIGINS");
  // Origins allowed to use the cookie from a browser are also trusted to send changes with it.
  const origins = [...new Set([...originList("TRUSTED_ORIGINS"), ...corsOrigins])];

  const rawPublic = env.PUBLIC_URL?.trim() || null;
  // An origin, with at most a bare "/" after it: every link and the cross-site check are built on it.
  const publicUrl = rawPublic === null
    ? null
    : /^https?:\/\/[^/\s?#@]+\/?$/i.test(rawPublic) && URL.canParse(rawPublic)
    ? new URL(rawPublic).origin
    : fail(
      "PUBLIC_URL",
      env.PUBLIC_URL ?? "",
      "the service's public origin, like https://auth.example.com (no path, query or credentials)",
    );

  const rawDomain = env.COOKIE_DOMAIN?.trim() || null;
  const domainError = rawDomain === null ? null : cookieDomainError(rawDomain);
  if (domainError !== null) fail("COOKIE_DOMAIN", env.COOKIE_DOMAIN ?? "", domainError);
  const cookieDomain = rawDomain === null ? null : cookieDomainOf(rawDomain);
  // The browser would drop every cookie the service sets: refuse rather than fail at each login.
  if (cookieDomain !== null && publicUrl !== null && !hostInCookieDomain(new URL(publicUrl).hostname, cookieDomain)) {
    fail("COOKIE_DOMAIN", env.COOKIE_DOMAIN ?? "", `a domain that contains PUBLIC_URL's host (${new URL(publicUrl).hostname})`);
  }

  const storage = enumVar(env, "STORAGE", STORAGES, "file");
  const databaseUrl = storage === "postgres" ? checkDatabaseUrl(env.DATABASE_URL) : null;

  const auth = authMode(authType);
  const accessPolicy = enumVar(env, "ACCESS_POLICY", ["open", "self"] as const, "open");
  // "self" means nothing without identities: refuse rather than lock everyone out (or pretend).
  if (accessPolicy === "self" && auth.strategy === "none") {
    fail("ACCESS_POLICY", env.ACCESS_POLICY ?? "", "open, as long as AUTH_TYPE is unset (self needs authenticated users)");
  }
  const adminEmails = (env.ADMIN_EMAILS ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  // 0, negative or unset: no limit (the original's rule for SESSION_DURATION).
  const seconds = (name: string, accepted: string) =>
    Math.max(0, intVar(env, name, 0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, accepted));
  const sessionDuration = seconds("SESSION_DURATION", "an integer number of seconds (0 or less: never expires)");
  const sessionIdleTimeout = seconds("SESSION_IDLE_TIMEOUT", "an integer number of seconds (0 or less: no idle limit)");
  return {
    host,
    port: intVar(env, "API_PORT", 5000, 0, 65535, "an integer port from 0 to 65535"),
    auth,
    sessionName,
    sessionDuration,
    sessionIdleTimeout,
    // session_auth sessions never expire, whatever the settings say (as in the original).
    sessionLifetime: auth.expiring ? { absolute: sessionDuration, idle: sessionIdleTimeout } : { absolute: 0, idle: 0 },
    storage,
    dataDir,
    kvPath: kvPath === null || kvPath === ":memory:" ? kvPath : resolve(cwd, kvPath),
    kvUrl,
    databaseUrl,
    databasePoolSize: env.DATABASE_POOL_SIZE?.trim()
      ? intVar(env, "DATABASE_POOL_SIZE", 1, 1, 1000, "an integer number of connections from 1 to 1000")
      : null,
    passwordMinLength: intVar(env, "PASSWORD_MIN_LENGTH", 8, 1, 1024, "an integer from 1 to 1024"),
    maxBodyBytes: intVar(env, "MAX_BODY_BYTES", 65536, 1024, 64 * 1024 * 1024, "an integer number of bytes from 1024 to 67108864"),
    cookieSecure: secure,
    trustedOrigins: origins,
    corsOrigins,
    accessPolicy,
    adminEmails,
    trustProxy,
    publicUrl,
    cookieDomain,
    headersTimeout: intVar(env, "HEADERS_TIMEOUT", 10, 1, 3600, "an integer number of seconds from 1 to 3600"),
    requestTimeout: intVar(env, "REQUEST_TIMEOUT", 30, 0, 86_400, "an integer number of seconds (0: no limit)"),
    keepAliveTimeout: intVar(env, "KEEP_ALIVE_TIMEOUT", 5, 1, 3600, "an integer number of seconds from 1 to 3600"),
    maxConnections: intVar(env, "MAX_CONNECTIONS", 0, 0, 1_000_000, "an integer (0: from the open-files limit)"),
    maxSessionsPerUser: intVar(env, "MAX_SESSIONS_PER_USER", 100, 1, 100_000, "an integer from 1 to 100000"),
    hashConcurrency: env.HASH_CONCURRENCY?.trim() ? intVar(env, "HASH_CONCURRENCY", 1, 1, 1024, "an integer from 1 to 1024") : null,
    logLevel: enumVar(env, "LOG_LEVEL", ["debug", "info", "warn", "error", "silent"] as const, "info"),
    logFormat: enumVar(env, "LOG_FORMAT", ["text", "json"] as const, "text"),
  };
}

/**
 * DATABASE_URL for STORAGE=postgres: present and a complete postgres:// URL.
 * The message never repeats the URL, which may hold a password.
 */
function checkDatabaseUrl(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === "") {
    throw new StartupError("STORAGE=postgres needs DATABASE_URL, e.g. postgres://user:password@host:5432/database");
  }
  try {
    parseDatabaseUrl(raw);
  } catch (e) {
    throw new StartupError((e as Error).message);
  }
  return raw.trim();
}
