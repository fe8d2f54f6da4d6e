import { Hono, type Context } from "hono";
import { HttpError, StorageUnavailableError } from "./domain/errors.ts";
import type { Config } from "./config.ts";
import type { StorageDriver } from "./storage/types.ts";
import type { Logger } from "./log.ts";
import { createUsersRepo } from "./repos/users.ts";
import { createMemorySessionStore, createStorageSessionStore } from "./auth/session-store.ts";
import { createSessionManager, type SessionManager } from "./auth/sessions.ts";
import { createBasicStrategy, createSessionStrategy, type Strategy } from "./auth/strategies.ts";
import { createCredentialCache } from "./auth/credential-cache.ts";
import { createLoginThrottle } from "./auth/throttle.ts";
import { authenticate, authMiddleware, type AuthOptions } from "./http/auth.ts";
import { preflight } from "./http/cors.ts";
import { json } from "./http/respond.ts";
import { userRoutes } from "./http/user-routes.ts";
import { sessionRoutes } from "./http/session-routes.ts";
import type { AppEnv } from "./http/env.ts";

export type AppConfig = Pick<
  Config,
  "authType" | "sessionName" | "sessionDuration" | "passwordMinLength" | "maxBodyBytes" | "cookieSecure" | "trustedOrigins" | "trustProxy"
>;

export type AppDeps = {
  config: AppConfig;
  driver: StorageDriver;
  log: Logger;
  /** Clock in ms since the epoch; tests inject one to test expiry without sleeping. */
  now?: () => number;
  /** PBKDF2 iterations; tests lower it. */
  iterations?: number;
  /** The peer address of a request (each runtime's adapter knows it); used to throttle logins. */
  peerAddress?: (c: Context) => string | undefined;
};

/** Every route and the methods it answers, for 405 and its `Allow` header. */
const ROUTES: [string, string][] = [
  ["/api/v1/status", "GET, HEAD"],
  ["/api/v1/stats", "GET, HEAD"],
  ["/api/v1/unauthorized", "GET, HEAD"],
  ["/api/v1/forbidden", "GET, HEAD"],
  ["/api/v1/users", "GET, HEAD, POST"],
  ["/api/v1/users/:id", "GET, HEAD, PUT, DELETE"],
  ["/api/v1/auth_session/login", "POST"],
  ["/api/v1/auth_session/logout", "DELETE"],
  ["/api/v1/auth_session", "POST, DELETE"],
];

/**
 * Builds the Hono app. No environment, globals or I/O here: the entry file
 * (or a test) passes the configuration, an open storage driver and a clock.
 *
 * @example const app = createApp({ config, driver: createMemoryDriver(), log: silentLogger });
 *          await app.request("/api/v1/status");
 */
export function createApp({ config, driver, log, now = Date.now, iterations, peerAddress }: AppDeps) {
  const { authType } = config;
  const sessionsEnabled = authType.startsWith("session");
  const memorySessions = authType === "session_auth" || authType === "session_exp_auth";
  const sessionStore = memorySessions ? createMemorySessionStore() : createStorageSessionStore(driver);
  const sessions: SessionManager | null = sessionsEnabled
    ? createSessionManager({
        store: sessionStore,
        // session_auth never expires, whatever SESSION_DURATION says (as in the original).
        durationSeconds: authType === "session_auth" ? 0 : config.sessionDuration,
        now,
      })
    : null;
  const users = createUsersRepo({
    driver,
    now,
    iterations,
    passwordMinLength: config.passwordMinLength,
    onDelete: sessions ? (id) => sessions.endAllFor(id) : undefined,
  });

  let strategy: Strategy | null = null;
  if (authType === "basic_auth") {
    strategy = createBasicStrategy(users, createCredentialCache({ maxEntries: 10_000, maxAgeMs: 5 * 60_000, now }), iterations);
  } else if (sessions) strategy = createSessionStrategy(users, sessions);

  const unauthorized = () =>
    new HttpError(401, "Unauthorized", authType === "basic_auth" ? { "WWW-Authenticate": 'Basic realm="api", charset="UTF-8"' } : {});
  const authOptions: AuthOptions = { authType, strategy, sessionName: config.sessionName, trustedOrigins: config.trustedOrigins };
  const isHttps = (req: Request) =>
    config.cookieSecure === "always" ||
    (config.cookieSecure === "auto" &&
      (new URL(req.url).protocol === "https:" ||
        (config.trustProxy && req.headers.get("x-forwarded-proto")?.split(",")[0].trim().toLowerCase() === "https")));

  const app = new Hono<AppEnv>({ strict: false });
  app.use("*", preflight());
  app.use("*", authMiddleware(authOptions, unauthorized));

  app.get("/api/v1/status", (c) => json(c, { status: "OK" }));
  app.get("/api/v1/stats", async (c) => json(c, { users: await users.count() }));
  app.get("/api/v1/unauthorized", () => {
    throw unauthorized();
  });
  app.get("/api/v1/forbidden", () => {
    throw new HttpError(403, "Forbidden");
  });
  app.route("/api/v1", userRoutes({ users, maxBodyBytes: config.maxBodyBytes }));
  app.route(
    "/api/v1",
    sessionRoutes({
      users,
      sessions,
      authTypeName: authType === "none" ? "unset" : authType,
      sessionName: config.sessionName,
      maxBodyBytes: config.maxBodyBytes,
      isHttps,
      authenticate: (c) => authenticate(c, authOptions, unauthorized),
      throttle: createLoginThrottle({ now }),
      clientOf: (c) => {
        // X-Forwarded-For is only believed behind a proxy we were told to trust;
        // otherwise any client could pick a fresh identity per request.
        const forwarded = config.trustProxy ? c.req.header("x-forwarded-for")?.split(",")[0].trim() : undefined;
        return forwarded || peerAddress?.(c) || "unknown";
      },
      iterations,
    }),
  );

  // A known path with another method: 405 with Allow (the original sent an HTML page).
  for (const [path, methods] of ROUTES) {
    app.all(path, (c) => {
      const allow = `${methods}, OPTIONS`;
      if (c.req.method === "OPTIONS") return json(c, null, 204, { Allow: allow });
      return json(c, { error: "Method not allowed" }, 405, { Allow: allow });
    });
  }

  app.notFound((c) => json(c, { error: "Not found" }, 404));
  app.onError((err, c) => {
    if (err instanceof StorageUnavailableError) log.error(`storage unavailable on ${c.req.method} ${c.req.path}: ${err.detail}`, err.cause);
    if (err instanceof HttpError) return json(c, { error: err.message }, err.status, err.headers);
    log.error(`unexpected failure on ${c.req.method} ${c.req.path}`, err);
    return json(c, { error: "Internal server error" }, 500);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
