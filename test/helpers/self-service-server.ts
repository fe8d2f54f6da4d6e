import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, SERVER_URL } from "./postgres.ts";
import { type Server, startServer } from "./server.ts";
import { startSmtp, type TestSmtp } from "./smtp.ts";

/**
 * Real servers for the self-service tests: each with its storage in a
 * folder or database of its own, email to an SMTP server in the test
 * process, everything stopped and removed after the test file.
 */

export const PASSWORD = "Passw0rd-123";
export const NEW_PASSWORD = "An0ther-Secret!";
const dirs: string[] = [];
const servers: Server[] = [];
const smtps: TestSmtp[] = [];
const cleanups: (() => Promise<void>)[] = [];

/**
 * Stops and removes everything made since the last call. Each test file
 * registers it itself (`after(cleanUp)`): `bun test` runs every file in one
 * process, where this module is evaluated once, so a hook registered here
 * would belong to the first file only and the servers, folders and
 * databases of the others would outlive the run.
 */
export async function cleanUp(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.stop("SIGKILL").catch(() => null)));
  await Promise.all(smtps.splice(0).map((s) => s.stop().catch(() => {})));
  for (const c of cleanups.splice(0)) await c();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
}

/** A scratch folder, removed after the test file. */
export function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "self-service-"));
  dirs.push(dir);
  return dir;
}

/** A test SMTP server, stopped after the test file. */
export async function smtpServer(): Promise<TestSmtp> {
  const smtp = await startSmtp();
  smtps.push(smtp);
  return smtp;
}

/** The environment of each storage, in a folder or database of its own. */
export const STORAGES: Record<string, () => Promise<Record<string, string>>> = {
  memory: () => Promise.resolve({ STORAGE: "memory" }),
  file: () => Promise.resolve({ STORAGE: "file", DATA_DIR: folder() }),
  kv: () => {
    const dir = folder();
    return Promise.resolve({ STORAGE: "kv", DATA_DIR: dir, KV_PATH: join(dir, "auth.kv") });
  },
  ...(SERVER_URL
    ? {
      postgres: async () => {
        const db = await createDatabase("selfservice");
        cleanups.push(db.drop);
        return { STORAGE: "postgres", DATABASE_URL: db.url };
      },
    }
    : {}),
};

/** The real server under session_db_auth, PUBLIC_URL set, email to `smtp` when given. */
export async function serve(env: Record<string, string>, smtp?: TestSmtp): Promise<Server> {
  const server = await startServer({
    AUTH_TYPE: "session_db_auth",
    PUBLIC_URL: "http://localhost",
    LOG_LEVEL: "info",
    ...(smtp ? { SMTP_URL: smtp.url } : {}),
    ...env,
  });
  servers.push(server);
  return server;
}

/** A client of one server: JSON requests, and logins. */
export function client(server: Server) {
  const call = (path: string, method: string, body?: unknown, cookie?: string) =>
    fetch(server.url + path, {
      method,
      headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    call,
    login: (email: string, password: string) => call("/api/v1/auth_session/login", "POST", { email, password }),
  };
}

/** The `name=value` of a response's session cookie. */
export const sessionCookie = (r: Response) => (r.headers.get("set-cookie") ?? "").split(";")[0];

/** Resolves once the server's log matches `pattern` (a generous bound: the machine is noisy). */
export async function untilLogged(server: Server, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(server.output())) {
    if (Date.now() > end) throw new Error(`no log line matching ${pattern}:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return server.output();
}
