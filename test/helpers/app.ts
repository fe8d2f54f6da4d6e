import { createPasswordHasher } from "../../src/auth/password.ts";
import { createApp } from "../../src/app/create-app.ts";
import { readInstall } from "../../src/app/boot.ts";
import { parseConfig } from "../../src/app/config.ts";
import { createLogger, silentLogger } from "../../src/lib/log.ts";
import type { PasswordHasher } from "../../src/domain/passwords.ts";
import { createMemoryDriver } from "../../src/storage/memory/index.ts";
import type { StorageDriver } from "../../src/storage/driver.ts";
import type { Outbox } from "../../src/lib/outbox.ts";
import { createUsersRepo } from "../../src/repos/users.ts";

/** A settable clock for expiry tests (no sleeping). */
export function fakeClock(start = Date.UTC(2025, 0, 1, 12, 0, 0)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Low PBKDF2 cost for speed; the real cost is covered in password tests. */
export const TEST_ITERATIONS = 1000;
/** A hasher at TEST_ITERATIONS. */
export const testHasher = createPasswordHasher({ iterations: TEST_ITERATIONS });

export type TestAppOptions = {
  env?: Record<string, string>;
  driver?: StorageDriver;
  now?: () => number;
  /** Default: testHasher. */
  hasher?: PasswordHasher;
  /** Receives the log lines (at LOG_LEVEL, in LOG_FORMAT of `env`); default: no log. */
  logLines?: string[];
  /** Outgoing email (see test/helpers/mail.ts); default: none, as with SMTP_URL unset. */
  outbox?: Outbox;
};

let install: ReturnType<typeof readInstall> | null = null;
/** The package's version and the pages' files, read once per test process. */
export const installed = () => (install ??= readInstall());

/** The app in-process on a memory driver, configured as the env would. */
export function testApp(
  { env = {}, driver = createMemoryDriver(), now = Date.now, hasher = testHasher, logLines, outbox }: TestAppOptions = {},
) {
  const config = parseConfig(env, "/nonexistent");
  // Background tasks are run by the test when it wants (no timers).
  const tasks = new Map<string, () => Promise<unknown>>();
  const app = createApp({
    config,
    driver,
    log: logLines ? createLogger(config.logLevel, (line) => void logLines.push(line), config.logFormat) : silentLogger,
    now,
    hasher,
    schedule: (name, _every, task) => void tasks.set(name, task),
    outbox,
    ...installed(),
  });
  const base = "http://localhost";
  const request = (path: string, init?: RequestInit) => app.request(base + path, init);
  return {
    app,
    driver,
    request,
    /** Runs a background task of the app now (e.g. "expired sessions sweep"). */
    runTask: (name: string) => {
      const task = tasks.get(name);
      if (!task) throw new Error(`no task ${name}: ${[...tasks.keys()]}`);
      return task();
    },
    json: (path: string, method: string, body: unknown, headers: Record<string, string> = {}) =>
      request(path, { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }),
    form: (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      request(path, { method: "POST", headers, body: new URLSearchParams(fields) }),
    /** Adds a user straight through the repository (works under any auth type). */
    seed: (email: string, password = "Passw0rd-123", names: { first_name?: string; last_name?: string } = {}) =>
      createUsersRepo({ driver, hasher: testHasher, now, passwordMinLength: 1 }).create({ email, password, ...names }),
    async createUser(email: string, password = "Passw0rd-123", extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
      const r = await request("/api/v1/users", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ email, password, ...extra }),
      });
      if (r.status !== 201) throw new Error(`create ${email}: ${r.status} ${await r.text()}`);
      return (await r.json()) as Record<string, string | null>;
    },
  };
}

export function basic(email: string, password: string): string {
  const bytes = new TextEncoder().encode(`${email}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

/** The `name=value` part of a Set-Cookie header. */
export function cookieOf(r: Response): string {
  const sc = r.headers.get("set-cookie") ?? "";
  return sc.split(";")[0];
}
