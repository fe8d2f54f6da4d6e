import { type Context, Hono } from "hono";
import { createCredentialCache } from "../auth/credential-cache.ts";
import { createMemorySessionStore, createStorageSessionStore } from "../auth/session-store.ts";
import { createSessionManager } from "../auth/sessions.ts";
import { createBasicStrategy, createSessionStrategy, type Strategy } from "../auth/strategies.ts";
import { createLoginThrottle, createMemoryCounters } from "../auth/throttle.ts";
import { createPasskeyChallenges } from "../auth/passkey-challenges.ts";
import { relyingPartyOf } from "../auth/relying-party.ts";
import { createSecondFactors } from "../auth/second-factor.ts";
import { factorRoutes } from "../http/factor-routes.ts";
import { createMailer } from "../auth/mailer.ts";
import { createRateLimit } from "../auth/rate-limit.ts";
import { createSelfService } from "../auth/self-service.ts";
import { selfServiceRoutes } from "../http/self-service-routes.ts";
import { createUserView } from "../http/user-json.ts";
import type { Outbox } from "../lib/outbox.ts";
import type { UserRecord } from "../domain/records.ts";
import { StorageUnavailableError } from "../domain/errors.ts";
import type { PasswordHasher } from "../domain/passwords.ts";
import { authenticate, type AuthOptions, crossSiteReason } from "../http/auth.ts";
import { createOrigins, forwardedEntry } from "../http/origin.ts";
import type { AppEnv } from "../http/context.ts";
import { HttpError, toHttpError } from "../http/errors.ts";
import { accessLog, createAudit } from "../http/audit.ts";
import { forwardAuthRoutes } from "../http/forward-auth.ts";
import { gate } from "../http/gate.ts";
import { createNextCheck } from "../http/next-check.ts";
import { ApiRouter } from "../http/router.ts";
import { openApiDocument, openApiRoute } from "../http/openapi.ts";
import { type PageContents, pageRoutes, pageSessionRoute } from "../http/page-routes.ts";
import { pageConfigRoute } from "../http/page-config.ts";
import { json } from "../http/respond.ts";
import type { Route } from "../http/routes.ts";
import { serviceRoutes } from "../http/service-routes.ts";
import { sessionRoutes, type SessionRoutesOptions } from "../http/session-routes.ts";
import { accountRoutes } from "../http/account-routes.ts";
import { passkeyRoutes, type PasskeyRoutesOptions } from "../http/passkey-routes.ts";
import { passkeyLogin } from "../http/passkey-login.ts";
import { userRoutes } from "../http/user-routes.ts";
import type { Logger } from "../lib/log.ts";
import { createUsersRepo } from "../repos/users.ts";
import type { StorageDriver } from "../storage/driver.ts";
import type { Config } from "./config.ts";

export type AppConfig = Pick<
  Config,
  | "auth"
  | "sessionName"
  | "sessionLifetime"
  | "passwordMinLength"
  | "maxBodyBytes"
  | "cookieSecure"
  | "trustedOrigins"
  | "publicUrl"
  | "cookieDomain"
  | "rpId"
  | "corsOrigins"
  | "accessPolicy"
  | "adminEmails"
  | "trustProxy"
  | "maxSessionsPerUser"
  | "secretKey"
  | "signup"
  | "emailVerification"
  | "passwordResetTtl"
  | "emailVerificationTtl"
>;

export type AppDeps = {
  config: AppConfig;
  driver: StorageDriver;
  log: Logger;
  /** Hashes and checks passwords (src/auth/password.ts); tests give a cheap one. */
  hasher: PasswordHasher;
  /** Clock in ms since the epoch; tests inject one to test expiry without sleeping. */
  now?: () => number;
  /** The peer address of a request (each runtime's adapter knows it); used to throttle logins. */
  peerAddress?: (c: Context) => string | undefined;
  /**
   * Runs a maintenance task every `everyMs` (the entry file's timers; it
   * also runs each task once more at a clean stop). Absent in tests, which
   * call what they need directly.
   */
  schedule?: (name: string, everyMs: number, task: () => Promise<unknown>) => void;
  /** The package's name and version, for the OpenAPI document (boot reads package.json). */
  service?: { name: string; version: string };
  /** The files of the sign-in page and the API reference (boot reads them); without them those routes answer 404. */
  pages?: PageContents;
  /** Outgoing email (the entry file installs its transport); absent: SMTP_URL unset, the routes that need email answer 503. */
  outbox?: Outbox | null;
};

/**
 * Builds the Hono app. No environment, globals or I/O here: the entry file
 * (or a test) passes the configuration, an open storage driver, a password
 * hasher and a clock.
 *
 * @example const app = createApp({ config, driver: createMemoryDriver(), log: silentLogger, hasher: createPasswordHasher() });
 *          await app.request("/api/v1/status");
 */
export function createApp({ config, driver, log, hasher, now = Date.now, peerAddress, schedule, service, pages, outbox = null }: AppDeps) {
  const { auth } = config;
  const sessionStore = auth.sessions === "memory"
    ? createMemorySessionStore(async (id) => (await driver.getUser(id)) !== null)
    : createStorageSessionStore(driver);
  const sessions = auth.sessions
    ? createSessionManager({
      store: sessionStore,
      lifetime: config.sessionLifetime,
      now,
      maxPerUser: config.maxSessionsPerUser,
    })
    : null;
  if (sessions) {
    schedule?.("expired sessions sweep", 60_000, async () => {
      const n = await sessions.sweep();
      if (n) log.debug(`deleted ${n} expired session(s)`);
    });
  }
  const users = createUsersRepo({
    driver,
    hasher,
    now,
    passwordMinLength: config.passwordMinLength,
    onDelete: sessions ? (id) => sessions.endAllFor(id) : undefined,
  });

  // On a storage shared by several processes (kv, postgres), they count together.
  const counters = driver.counters ?? createMemoryCounters();
  const throttle = createLoginThrottle({ now, store: counters });
  // Reads check expiry anyway: the sweep only keeps the account records small.
  schedule?.("expired tokens sweep", 10 * 60_000, async () => {
    const n = await driver.deleteExpiredTokens(now());
    if (n) log.debug(`deleted ${n} expired one-time token(s)`);
  });
  const mailer = createMailer({ outbox, publicUrl: config.publicUrl, log });
  const view = createUserView(users, config.emailVerification);
  const selfService = createSelfService({
    driver,
    users,
    mailer,
    mailCap: createRateLimit({ store: counters, name: "mail", limit: 3, windowMs: HOUR, now }),
    now,
    passwordResetTtl: config.passwordResetTtl,
    emailVerificationTtl: config.emailVerificationTtl,
    endSessions: (id) => sessions?.endOthers(id, null) ?? Promise.resolve(0),
  });
  let strategy: Strategy | null = null;
  if (auth.strategy === "basic") {
    // Under required verification, Basic credentials of an unverified address let nobody in, as a login would not.
    const unverified = config.emailVerification === "required"
      ? async (u: UserRecord) => (await driver.getAccount(u.id))?.email_verified === false
      : undefined;
    strategy = createBasicStrategy(users, createCredentialCache({ maxEntries: 10_000, maxAgeMs: 5 * 60_000, now }), throttle, unverified);
  } else if (sessions) strategy = createSessionStrategy(users, sessions);

  // Under basic_auth every 401 says how to authenticate (RFC 7235), the login's included.
  const challenge: Record<string, string> = auth.strategy === "basic" ? { "WWW-Authenticate": 'Basic realm="api", charset="UTF-8"' } : {};
  const unauthorized = () => new HttpError(401, "Unauthorized", challenge);
  const clientOf = (c: Context<AppEnv>): string =>
    forwardedEntry(c.req.header("x-forwarded-for"), config.trustProxy) ?? peerAddress?.(c) ?? "unknown";
  const origins = createOrigins({ publicUrl: config.publicUrl, trustProxy: config.trustProxy, cookieSecure: config.cookieSecure });
  const isHttps = origins.isHttps;
  const crossSite = (req: Request) => crossSiteReason(req, config.trustedOrigins, origins.publicOrigin(req));
  const audit = createAudit(log, clientOf);
  const authOptions: AuthOptions = {
    auth,
    strategy,
    sessionName: config.sessionName,
    clientOf,
    crossSite,
    audit,
  };

  const sessionOptions: SessionRoutesOptions = {
    users,
    sessions,
    auth,
    challenge,
    sessionName: config.sessionName,
    maxBodyBytes: config.maxBodyBytes,
    isHttps,
    cookieDomain: config.cookieDomain,
    crossSite,
    authenticate: (c) => authenticate(c, authOptions, unauthorized),
    throttle,
    clientOf,
    now,
    audit,
    factors: createSecondFactors({ driver, secretKey: config.secretKey, now, issuer: service?.name ?? "session-auth-api" }),
    view,
    emailVerification: config.emailVerification,
  };
  const passkeyOptions: PasskeyRoutesOptions = {
    ...sessionOptions,
    driver,
    // Every process on a shared storage must know the challenges another one issued; else, like the throttle's, in this process.
    challenges: createPasskeyChallenges({ store: driver.counters ?? createMemoryCounters(), now }),
    relyingParty: relyingPartyOf({ publicUrl: config.publicUrl, rpId: config.rpId, publicOrigin: origins.publicOrigin }),
    rpName: service?.name ?? "session-auth-api",
  };
  let openapi = "";
  const routes: Route[] = [
    // The health check's read: a user that cannot exist, one indexed lookup on every driver.
    ...serviceRoutes(users, unauthorized, () => driver.getUser("00000000-0000-0000-0000-000000000000")),
    // Before /users/:id, whose pattern does not match /users/me/password anyway.
    ...accountRoutes(sessionOptions),
    ...passkeyRoutes(passkeyOptions),
    ...factorRoutes(sessionOptions),
    ...userRoutes({
      users,
      maxBodyBytes: config.maxBodyBytes,
      accessPolicy: config.accessPolicy,
      adminEmails: config.adminEmails,
      audit,
      view,
      signup: config.signup,
      signupLimit: createRateLimit({ store: counters, name: "signup", limit: 10, windowMs: HOUR, now }),
      clientOf,
      startVerification: config.emailVerification === "off" ? null : (user) => selfService.startVerification(user),
    }),
    ...sessionRoutes(sessionOptions),
    ...passkeyLogin(passkeyOptions),
    ...selfServiceRoutes({
      ...sessionOptions,
      selfService,
      mailer,
      perClient: createRateLimit({ store: counters, name: "self-service", limit: 30, windowMs: 15 * 60_000, now }),
    }),
    ...forwardAuthRoutes(sessionOptions),
    openApiRoute(() => openapi),
    ...pageRoutes(pages),
    pageSessionRoute(
      sessionOptions.authenticate,
      createNextCheck({ origins, cookieDomain: config.cookieDomain, audit, isHttps }),
      (user) => view.one(user),
    ),
    pageConfigRoute({ signup: config.signup, email: outbox !== null, emailVerification: config.emailVerification }),
  ];
  // Once per app, from the complete list (the document's own route included).
  openapi = JSON.stringify(openApiDocument(routes, {
    title: service?.name ?? "session-auth-api",
    version: service?.version ?? "0.0.0",
    sessionName: config.sessionName,
    authLabel: auth.label,
  }));

  const app = new Hono<AppEnv>({ strict: false, router: new ApiRouter() });
  app.use("*", accessLog(log, clientOf));
  app.use("*", gate(routes, authOptions, unauthorized, config.corsOrigins));
  for (const r of routes) app.on(r.method, r.path, r.handler);
  app.notFound((c) => json(c, { error: "Not found" }, 404));
  app.onError((err, c) => {
    if (err instanceof StorageUnavailableError) log.error(`storage unavailable on ${c.req.method} ${c.req.path}: ${err.detail}`, err.cause);
    const answer = toHttpError(err);
    if (answer) return json(c, { error: answer.message }, answer.status, answer.headers);
    log.error(`unexpected failure on ${c.req.method} ${c.req.path}`, err);
    return json(c, { error: "Internal server error" }, 500);
  });
  // The entry file drains the mail at a clean stop (bounded).
  return Object.assign(app, { routes, drainMail: (timeoutMs: number) => mailer.drain(timeoutMs), pendingMail: () => mailer.pending() });
}

export type App = ReturnType<typeof createApp>;

const HOUR = 3_600_000;
