import { resolve } from "node:path";
import { z } from "zod";
import { AUTH_TYPES, authMode } from "../domain/auth-mode.ts";
import { StartupError } from "../domain/errors.ts";
import { parseDatabaseUrl } from "../storage/postgres/url.ts";
import { DEFAULT_STORAGE, STORAGE_NAMES, storageKind } from "../storage/registry.ts";
import { cookieDomainError, cookieDomainOf, hostInCookieDomain } from "../lib/cookie-domain.ts";

/**
 * The service's configuration: one zod schema for the environment
 * variables, and the `Config` it produces. Bad values fail closed: the
 * original silently ran with no authentication on an unknown AUTH_TYPE and
 * made sessions eternal on a non-integer SESSION_DURATION; here the process
 * refuses to start instead, with one line naming the variable, its value
 * and what is accepted (each variable's schema carries that last part as
 * its description).
 */

/** Unset and blank are the same: the default. */
const blankIsUnset = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
/** One variable: its schema (with its default) and, as the description, what it accepts. */
const variable = <T extends z.ZodType>(schema: T, accepted: string) => z.preprocess(blankIsUnset, schema).describe(accepted);

const text = z.string().trim();
const int = (min: number, max: number) => text.regex(/^[+-]?\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => text.pipe(z.enum(values));
const ORIGIN = /^https?:\/\/[^/\s]+$/;
const list = (item: z.ZodType<string, string>) =>
  z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)).pipe(z.array(item)).default([]);
/** What sign-up accepts as an email: name@domain, no control characters. */
// deno-lint-ignore no-control-regex
const EMAIL_SHAPE = /^[^\x00-\x1f\x7f-\x9f]+@[^\x00-\x1f\x7f-\x9f@]+$/;
const SECONDS = Number.MAX_SAFE_INTEGER;

const envSchema = z.object({
  AUTH_TYPE: variable(oneOf(AUTH_TYPES).nullable().default(null), `empty (no authentication) or one of ${AUTH_TYPES.join(", ")}`),
  API_HOST: variable(text.regex(/^[A-Za-z0-9.:\-[\]%]+$/).default("0.0.0.0"), "a host name or IP address"),
  API_PORT: variable(int(0, 65535).default(5000), "an integer port from 0 to 65535"),
  // A cookie name is an RFC 6265 token: no separators, spaces or controls.
  SESSION_NAME: variable(
    text.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/).default("_my_session_id"),
    "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
  ),
  // 0, negative or unset: no limit (the original's rule).
  SESSION_DURATION: variable(
    int(-SECONDS, SECONDS).transform((n) => Math.max(0, n)).default(0),
    "an integer number of seconds (0 or less: never expires)",
  ),
  // Not the original's: a negative idle limit is a mistake, not a way to say "none".
  SESSION_IDLE_TIMEOUT: variable(int(0, SECONDS).default(0), "a non-negative integer number of seconds (0: no idle limit)"),
  STORAGE: variable(oneOf(STORAGE_NAMES).default(DEFAULT_STORAGE), `one of ${STORAGE_NAMES.join(", ")}`),
  DATA_DIR: variable(text.default("."), "a folder"),
  KV_PATH: variable(text.nullable().default(null), "a file"),
  KV_URL: variable(text.regex(/^https?:\/\/\S+$/).nullable().default(null), "an http:// or https:// KV Connect URL"),
  DATABASE_URL: variable(text.nullable().default(null), "a postgres:// URL"),
  DATABASE_POOL_SIZE: variable(int(1, 1000).nullable().default(null), "an integer number of connections from 1 to 1000"),
  PASSWORD_MIN_LENGTH: variable(int(1, 1024).default(8), "an integer from 1 to 1024"),
  MAX_BODY_BYTES: variable(int(1024, 64 * 1024 * 1024).default(65536), "an integer number of bytes from 1024 to 67108864"),
  COOKIE_SECURE: variable(oneOf(["auto", "always", "never"]).default("auto"), "one of auto, always, never"),
  TRUST_PROXY: variable(
    text.toLowerCase().pipe(z.union([
      z.enum(["false", "no"]).transform(() => 0),
      z.enum(["true", "yes"]).transform(() => 1),
      z.string().regex(/^\d+$/).transform(Number).pipe(z.number().max(32)),
    ])).default(0),
    "false, true (one proxy) or the number of proxies in front, up to 32",
  ),
  // An origin, with at most a bare "/" after it: every link and the cross-site check are built on it.
  PUBLIC_URL: variable(
    text.regex(/^https?:\/\/[^/\s?#@]+\/?$/i).refine((u) => URL.canParse(u)).transform((u) => new URL(u).origin).nullable().default(null),
    "the service's public origin, like https://auth.example.com (no path, query or credentials)",
  ),
  // A WebAuthn relying party id is a host name (no scheme, port or path; an IP address is not one).
  RP_ID: variable(
    text.toLowerCase().regex(/^(?=.*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)*$/).nullable().default(null),
    "a host name like example.com (no scheme, port or path)",
  ),
  COOKIE_DOMAIN: variable(
    text.superRefine((d, ctx) => {
      const error = cookieDomainError(d);
      if (error !== null) ctx.addIssue({ code: "custom", message: error });
    }).transform(cookieDomainOf).nullable().default(null),
    "a domain name like example.com or .example.com",
  ),
  CORS_ORIGINS: variable(list(z.string().regex(ORIGIN)), "a comma-separated list of origins like https://app.example.com"),
  TRUSTED_ORIGINS: variable(list(z.string().regex(ORIGIN)), "a comma-separated list of origins like https://app.example.com"),
  ACCESS_POLICY: variable(oneOf(["open", "self"]).default("open"), "one of open, self"),
  ADMIN_EMAILS: variable(
    list(z.string().regex(EMAIL_SHAPE).transform((e) => e.toLowerCase())),
    "a comma-separated list of email addresses (name@domain)",
  ),
  HEADERS_TIMEOUT: variable(int(1, 3600).default(10), "an integer number of seconds from 1 to 3600"),
  REQUEST_TIMEOUT: variable(int(0, 86_400).default(30), "an integer number of seconds (0: no limit)"),
  KEEP_ALIVE_TIMEOUT: variable(int(1, 3600).default(5), "an integer number of seconds from 1 to 3600"),
  MAX_CONNECTIONS: variable(int(0, 1_000_000).default(0), "an integer (0: from the open-files limit)"),
  MAX_SESSIONS_PER_USER: variable(int(1, 100_000).default(100), "an integer from 1 to 100000"),
  HASH_CONCURRENCY: variable(int(1, 1024).nullable().default(null), "an integer from 1 to 1024"),
  SIGNUP: variable(oneOf(["authenticated", "open", "closed"]).default("authenticated"), "one of authenticated, open, closed"),
  // smtp://, smtps:// (nodemailer reads the rest), or log: (development: emails go to the log).
  SMTP_URL: variable(
    text.regex(/^(smtps?:\/\/\S+|log:)$/i).refine((u) => u === "log:" || URL.canParse(u)).nullable().default(null),
    "smtp://[user:password@]host:port, smtps://[user:password@]host:port or log:",
  ),
  MAIL_FROM: variable(text.regex(EMAIL_SHAPE).nullable().default(null), "an email address (name@domain)"),
  EMAIL_VERIFICATION: variable(oneOf(["off", "optional", "required"]).default("off"), "one of off, optional, required"),
  PASSWORD_RESET_TTL: variable(int(60, 7 * 86_400).default(3600), "an integer number of seconds from 60 to 604800"),
  EMAIL_VERIFICATION_TTL: variable(int(60, 30 * 86_400).default(86_400), "an integer number of seconds from 60 to 2592000"),
  LOG_LEVEL: variable(oneOf(["debug", "info", "warn", "error", "silent"]).default("info"), "one of debug, info, warn, error, silent"),
  LOG_FORMAT: variable(oneOf(["text", "json"]).default("text"), "one of text, json"),
  // Checked below, in a line of its own: the generic message would print the value, a secret.
  SECRET_KEY: variable(z.string().nullable().default(null), "a random text of at least 32 characters"),
});

type Env = z.output<typeof envSchema>;

/** SECRET_KEY's least length: a key derived from fewer random characters could be guessed offline from a sealed secret. */
export const SECRET_KEY_MIN = 32;
const secretKeyTooShort = (n: number) =>
  `Invalid SECRET_KEY: ${n} characters, expected at least ${SECRET_KEY_MIN} random ones (e.g. the output of: openssl rand -base64 32)`;

/** The issue of a rule between variables, whose message is the whole line. */
const LINE = { line: true };

/** The schema of the whole configuration; `cwd` is the folder relative DATA_DIR and KV_PATH resolve against. */
const configSchema = (cwd: string) =>
  envSchema.transform((e, ctx) => {
    const auth = authMode(e.AUTH_TYPE);
    // "self" means nothing without identities: refuse rather than lock everyone out (or pretend).
    if (e.ACCESS_POLICY === "self" && auth.strategy === "none") {
      ctx.addIssue({
        code: "custom",
        path: ["ACCESS_POLICY"],
        message: "open, as long as AUTH_TYPE is unset (self needs authenticated users)",
      });
      return z.NEVER;
    }
    const databaseUrl = storageKind(e.STORAGE).needsDatabaseUrl ? checkDatabaseUrl(e) : null;
    if (typeof databaseUrl === "object" && databaseUrl !== null) {
      ctx.addIssue({ code: "custom", path: ["DATABASE_URL"], message: databaseUrl.error, params: LINE });
      return z.NEVER;
    }
    if (e.SECRET_KEY !== null && e.SECRET_KEY.length < SECRET_KEY_MIN) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: secretKeyTooShort(e.SECRET_KEY.length), params: LINE });
      return z.NEVER;
    }
    // The browser would drop every cookie the service sets: refuse rather than fail at each login.
    if (e.COOKIE_DOMAIN !== null && e.PUBLIC_URL !== null && !hostInCookieDomain(new URL(e.PUBLIC_URL).hostname, e.COOKIE_DOMAIN)) {
      ctx.addIssue({
        code: "custom",
        path: ["COOKIE_DOMAIN"],
        message: `a domain that contains PUBLIC_URL's host (${new URL(e.PUBLIC_URL).hostname})`,
      });
      return z.NEVER;
    }
    // Browsers refuse a passkey whose relying party is not the page's host or a parent of it.
    if (e.RP_ID !== null && e.PUBLIC_URL !== null && !hostInCookieDomain(new URL(e.PUBLIC_URL).hostname, e.RP_ID)) {
      ctx.addIssue({
        code: "custom",
        path: ["RP_ID"],
        message: `PUBLIC_URL's host (${new URL(e.PUBLIC_URL).hostname}) or a domain above it`,
      });
      return z.NEVER;
    }
    const mail = mailSettings(e);
    if ("error" in mail) {
      ctx.addIssue({ code: "custom", path: ["SMTP_URL"], message: mail.error, params: LINE });
      return z.NEVER;
    }
    return {
      ...mail,
      host: e.API_HOST,
      port: e.API_PORT,
      /** AUTH_TYPE, decoded. */
      auth,
      sessionName: e.SESSION_NAME,
      /** Seconds; 0 means sessions never expire. */
      sessionDuration: e.SESSION_DURATION,
      /** Seconds a session may go unused; 0: no idle limit. */
      sessionIdleTimeout: e.SESSION_IDLE_TIMEOUT,
      /** How long sessions live, as the auth type applies the two settings above: session_auth sessions never expire (as in the original). */
      sessionLifetime: auth.expiring ? { absolute: e.SESSION_DURATION, idle: e.SESSION_IDLE_TIMEOUT } : { absolute: 0, idle: 0 },
      storage: e.STORAGE,
      // Relative paths are the user's: `cwd` is the folder the command was started from.
      dataDir: resolve(cwd, e.DATA_DIR),
      kvPath: e.KV_PATH === null || e.KV_PATH === ":memory:" ? e.KV_PATH : resolve(cwd, e.KV_PATH),
      kvUrl: e.KV_URL,
      /** DATABASE_URL, checked (a storage that needs it only; null otherwise). */
      databaseUrl,
      /** DATABASE_POOL_SIZE: connections at most per process; null: from the cores (see defaultPoolSize). */
      databasePoolSize: e.DATABASE_POOL_SIZE,
      passwordMinLength: e.PASSWORD_MIN_LENGTH,
      maxBodyBytes: e.MAX_BODY_BYTES,
      /** "auto": `Secure` when the request came over HTTPS. */
      cookieSecure: e.COOKIE_SECURE,
      /** Origins (besides the request's own) whose cookie-authenticated unsafe requests are allowed: origins allowed to use the cookie from a browser are also trusted to send changes with it. */
      trustedOrigins: [...new Set([...e.TRUSTED_ORIGINS, ...e.CORS_ORIGINS])],
      /** Origins allowed to call the API with cookies from a browser (credentialed CORS). */
      corsOrigins: e.CORS_ORIGINS,
      /** "open": any authenticated user may read, change and delete any user (the original); "self": only itself, but admins. */
      accessPolicy: e.ACCESS_POLICY,
      /** Users (by email, lowercased: compared case-insensitively) who may act on every user under ACCESS_POLICY=self. */
      adminEmails: e.ADMIN_EMAILS,
      /**
       * Proxies in front of the service whose X-Forwarded-For and
       * X-Forwarded-Proto entries are believed, counted from the service
       * outwards; 0: none (the peer address is the client).
       */
      trustProxy: e.TRUST_PROXY,
      /** PUBLIC_URL: the one public origin (`https://auth.example.com`), or null: from the request and the trusted proxy. */
      publicUrl: e.PUBLIC_URL,
      /** COOKIE_DOMAIN: the `Domain` of the session cookies (lower case, no leading dot), or null: host-only cookies. */
      cookieDomain: e.COOKIE_DOMAIN,
      /** RP_ID: the passkeys' relying party id; null: PUBLIC_URL's host, else the request's (see src/auth/relying-party.ts). */
      rpId: e.RP_ID,
      logLevel: e.LOG_LEVEL,
      /** Log lines as text, or one JSON object per line. */
      logFormat: e.LOG_FORMAT,
      /** Seconds a client has to send a request's head (a new connection, or a slow one). */
      headersTimeout: e.HEADERS_TIMEOUT,
      /** Seconds from a request's head to its answer (slow bodies, stuck handlers); 0: no limit. */
      requestTimeout: e.REQUEST_TIMEOUT,
      /** Seconds an idle keep-alive connection stays open. */
      keepAliveTimeout: e.KEEP_ALIVE_TIMEOUT,
      /** Open connections at most; more are refused at once. 0: from the open-files limit. */
      maxConnections: e.MAX_CONNECTIONS,
      /** Live sessions one user may hold; the oldest ends first. */
      maxSessionsPerUser: e.MAX_SESSIONS_PER_USER,
      /** PBKDF2 computations at once; null: as many as the cores this process may use. */
      hashConcurrency: e.HASH_CONCURRENCY,
      /** SECRET_KEY: what TOTP secrets are sealed under (see src/auth/secret-box.ts); null: second factors cannot be enrolled. */
      secretKey: e.SECRET_KEY,
    };
  });

/** The service's configuration, as the schema above makes it. */
export type Config = z.infer<ReturnType<typeof configSchema>>;

/** A storage's name, as `STORAGE` takes it. */
export type StorageKind = Config["storage"];

/**
 * Parses the environment into a `Config`, or throws `StartupError` with one
 * line naming the variable, its value and what is accepted.
 *
 * `cwd` is the folder the user started the command from: relative
 * `DATA_DIR` and `KV_PATH` resolve against it.
 *
 * @example parseConfig({ AUTH_TYPE: "session_auth", API_PORT: "5000" }, "/srv/data")
 */
export function parseConfig(env: Record<string, string | undefined>, cwd: string): Config {
  const parsed = configSchema(cwd).safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === "custom" && issue.params?.line) throw new StartupError(issue.message);
  const name = String(issue.path[0]) as keyof typeof envSchema.shape;
  const accepted = issue.code === "custom" ? issue.message : envSchema.shape[name].description;
  throw new StartupError(`Invalid ${name} ${JSON.stringify(env[name] ?? "")}: expected ${accepted}`);
}

/**
 * The self-service settings. Every email carries a link to PUBLIC_URL, and
 * the sender's default is named after it: SMTP_URL without PUBLIC_URL is
 * refused (a link to wherever a request happened to come from could be
 * pointed at an attacker's host by a forged Host header). Required
 * verification without email would lock every new sign-up out.
 */
function mailSettings(e: Env) {
  if (e.SMTP_URL !== null && e.PUBLIC_URL === null) {
    return { error: "SMTP_URL needs PUBLIC_URL (the origin every link in an email points to), e.g. PUBLIC_URL=https://auth.example.com" };
  }
  if (e.EMAIL_VERIFICATION === "required" && e.SMTP_URL === null) {
    return { error: "EMAIL_VERIFICATION=required needs SMTP_URL: without email no new account could ever be verified" };
  }
  return {
    /** SIGNUP: who may use POST /users ("authenticated": the original). */
    signup: e.SIGNUP,
    /** SMTP_URL (`log:` included); null: no email, the routes that need one answer 503. */
    smtpUrl: e.SMTP_URL,
    /** MAIL_FROM, or no-reply@ the host of PUBLIC_URL; null without email. */
    mailFrom: e.MAIL_FROM ?? (e.PUBLIC_URL ? `no-reply@${new URL(e.PUBLIC_URL).hostname}` : null),
    emailVerification: e.EMAIL_VERIFICATION,
    /** Seconds a password reset link works. */
    passwordResetTtl: e.PASSWORD_RESET_TTL,
    /** Seconds a verification (or email change) link works. */
    emailVerificationTtl: e.EMAIL_VERIFICATION_TTL,
  };
}

/**
 * DATABASE_URL, for a storage that needs it: present and a complete
 * postgres:// URL, or the line saying what is wrong. The line never
 * repeats the URL, which may hold a password.
 */
function checkDatabaseUrl(e: Env): string | { error: string } {
  if (e.DATABASE_URL === null) {
    return { error: `STORAGE=${e.STORAGE} needs DATABASE_URL, e.g. postgres://user:password@host:5432/database` };
  }
  try {
    parseDatabaseUrl(e.DATABASE_URL);
  } catch (err) {
    return { error: (err as Error).message };
  }
  return e.DATABASE_URL;
}
