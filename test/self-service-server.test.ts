import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, SERVER_URL } from "./helpers/postgres.ts";
import { cliCommand, RUNTIME, runToEnd, type Server, startServer } from "./helpers/server.ts";
import { startSmtp, type TestSmtp } from "./helpers/smtp.ts";
import { tokenIn } from "./helpers/mail.ts";

/**
 * Self-service accounts on the real server of this runtime, sending real
 * email to an SMTP server in the test process: sign-up, verification,
 * login, forgotten password and reset on every storage; the mail server
 * away or refusing; the CLI's verify and reset-link.
 */

const PASSWORD = "Passw0rd-123";
const NEW_PASSWORD = "An0ther-Secret!";
const dirs: string[] = [];
const servers: Server[] = [];
const smtps: TestSmtp[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGKILL").catch(() => null)));
  await Promise.all(smtps.map((s) => s.stop().catch(() => {})));
  for (const c of cleanups) await c();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), "self-service-"));
  dirs.push(dir);
  return dir;
};

/** The environment of each storage, in a folder or database of its own. */
const STORAGES: Record<string, () => Promise<Record<string, string>>> = {
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

async function serve(env: Record<string, string>, smtp?: TestSmtp): Promise<Server> {
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

/** A client of one server: JSON requests, and the cookie of a login. */
function client(server: Server) {
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
const sessionCookie = (r: Response) => (r.headers.get("set-cookie") ?? "").split(";")[0];

/** Resolves once the server's log matches `pattern` (a generous bound: the machine is noisy). */
async function untilLogged(server: Server, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(server.output())) {
    if (Date.now() > end) throw new Error(`no log line matching ${pattern}:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return server.output();
}

for (const [name, storage] of Object.entries(STORAGES)) {
  describe(`self-service on a real ${RUNTIME} server, ${name} storage`, () => {
    it("signs up, verifies the emailed link, logs in, resets a forgotten password: the old session ends", async () => {
      const smtp = await startSmtp();
      smtps.push(smtp);
      const server = await serve({ ...(await storage()), SIGNUP: "open", EMAIL_VERIFICATION: "required" }, smtp);
      const c = client(server);
      const signup = await c.call("/api/v1/users", "POST", { email: "ann@example.com", password: PASSWORD });
      assert.equal(signup.status, 201);
      const user = await signup.json();
      assert.deepEqual(Object.keys(user), ["created_at", "email", "first_name", "id", "last_name", "updated_at", "email_verified"]);
      assert.equal(user.email_verified, false);
      const early = await c.login("ann@example.com", PASSWORD);
      assert.deepEqual([early.status, await early.json()], [403, { error: "email not verified" }]);
      await smtp.waitFor(1);
      assert.equal(smtp.received[0].subject, "Verify your email address");
      const verifyToken = tokenIn(smtp, 0, "verify");
      assert.equal((await c.call("/api/v1/auth_session/verify_email", "POST", { token: verifyToken })).status, 200);
      const loggedIn = await c.login("ann@example.com", PASSWORD);
      assert.equal(loggedIn.status, 200);
      assert.equal((await loggedIn.json()).email_verified, true);
      const cookie = sessionCookie(loggedIn);

      const forgot = await c.call("/api/v1/auth_session/password_reset", "POST", { email: "ann@example.com" });
      assert.deepEqual([forgot.status, await forgot.json()], [202, {}]);
      await smtp.waitFor(2);
      assert.equal(smtp.received[1].subject, "Reset your password");
      const resetToken = tokenIn(smtp, 1, "reset");
      const reset = await c.call("/api/v1/auth_session/password_reset/confirm", "POST", { token: resetToken, new_password: NEW_PASSWORD });
      assert.equal(reset.status, 200);
      assert.equal((await c.call("/api/v1/users/me", "GET", undefined, cookie)).status, 403, "the old session is dead");
      assert.equal((await c.login("ann@example.com", PASSWORD)).status, 401);
      assert.equal((await c.login("ann@example.com", NEW_PASSWORD)).status, 200);
      await smtp.waitFor(3);
      assert.equal(smtp.received[2].subject, "Your password was changed");
      // The log records the flows, never a token or a link.
      const log = await untilLogged(server, /"event":"password_reset"|event=password_reset\b/);
      for (const secret of [verifyToken, resetToken, verifyToken.split(".")[1], resetToken.split(".")[1]]) assert.ok(!log.includes(secret));
      assert.doesNotMatch(log, /#reset=|#verify=/);
    });
  });
}

describe(`self-service on a real ${RUNTIME} server: the mail server away or refusing`, () => {
  it("answers 202 while SMTP is down, logs the cause (never the token), and delivers once it is back", async () => {
    const smtp = await startSmtp();
    smtps.push(smtp);
    const server = await serve({ STORAGE: "file", DATA_DIR: folder(), SIGNUP: "open" }, smtp);
    const c = client(server);
    assert.equal((await c.call("/api/v1/users", "POST", { email: "bob@example.com", password: PASSWORD })).status, 201);
    await smtp.stop();
    const r = await c.call("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
    assert.deepEqual([r.status, await r.json()], [202, {}]);
    await untilLogged(server, /"Reset your password" for user \S+ not sent yet \(attempt 1\): .*ECONNREFUSED/);
    await smtp.start();
    await smtp.waitFor(1, 60_000);
    assert.equal(smtp.received[0].subject, "Reset your password");
    // A transient refusal (421) is retried; a permanent one (550) is logged and given up.
    smtp.refuse(421, 1);
    await c.call("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
    await smtp.waitFor(2, 60_000);
    await untilLogged(server, /not sent yet \(attempt 1\): .*421/);
    smtp.refuse(550, 1);
    await c.call("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
    const log = await untilLogged(server, /"Reset your password" for user \S+ not sent: .*550/);
    assert.equal(smtp.received.length, 2);
    for (const i of [0, 1]) assert.ok(!log.includes(tokenIn(smtp, i, "reset").split(".")[1]));
    assert.doesNotMatch(log, /#reset=/);
  });
});

describe(`self-service on a real ${RUNTIME} server: stopping`, () => {
  it("SIGTERM delivers the queued email before exiting, and gives up after a bounded wait when the mail server is away", async () => {
    const smtp = await startSmtp();
    smtps.push(smtp);
    const env = { STORAGE: "file", DATA_DIR: folder(), SIGNUP: "open" };
    let server = await serve(env, smtp);
    assert.equal((await client(server).call("/api/v1/users", "POST", { email: "joe@example.com", password: PASSWORD })).status, 201);
    assert.equal((await client(server).call("/api/v1/auth_session/password_reset", "POST", { email: "joe@example.com" })).status, 202);
    assert.equal(await server.stop(), 0);
    assert.equal(smtp.received.length, 1, "delivered before the process ended");
    server = await serve(env, smtp);
    await smtp.stop();
    assert.equal((await client(server).call("/api/v1/auth_session/password_reset", "POST", { email: "joe@example.com" })).status, 202);
    await untilLogged(server, /not sent yet \(attempt 1\)/);
    assert.equal(await server.stop(), 0);
    assert.match(server.output(), /1 email\(s\) not sent within \d+ ms of the stop: given up/);
  });
});

describe(`self-service on a real ${RUNTIME} server: SIGNUP, and the CLI`, () => {
  it("SIGNUP=closed refuses sign-ups, authenticated needs a login, open needs none", async () => {
    // Without an auth type anyone may call every route: closed still refuses.
    const closed = await serve({ STORAGE: "memory", SIGNUP: "closed", AUTH_TYPE: "" });
    const r = await client(closed).call("/api/v1/users", "POST", { email: "a@example.com", password: PASSWORD });
    assert.deepEqual([r.status, await r.json()], [403, { error: "Sign-up is closed" }]);
    const open = await serve({ STORAGE: "memory", SIGNUP: "open" });
    assert.equal((await client(open).call("/api/v1/users", "POST", { email: "a@example.com", password: PASSWORD })).status, 201);
    const authenticated = await serve({ STORAGE: "memory" });
    assert.equal((await client(authenticated).call("/api/v1/users", "POST", { email: "a@example.com", password: PASSWORD })).status, 401);
  });

  it("user verify lets an unverified account log in; user reset-link prints a link that works once, without email", async () => {
    const dir = folder();
    const env = { STORAGE: "file", DATA_DIR: dir };
    const cli = (args: string[], extra: Record<string, string> = {}, input?: string) => {
      const [bin, argv] = cliCommand(args);
      return runToEnd(bin, argv, { ...env, ...extra }, 60_000, input, dir);
    };
    const verification = { SIGNUP: "open", EMAIL_VERIFICATION: "required", SMTP_URL: "log:" };
    let server = await serve({ ...env, ...verification });
    assert.equal((await client(server).call("/api/v1/users", "POST", { email: "eve@example.com", password: PASSWORD })).status, 201);
    assert.equal((await client(server).login("eve@example.com", PASSWORD)).status, 403);
    await server.stop();
    const verified = await cli(["user", "verify", "eve@example.com"]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /verified the email of user \S+ <eve@example.com>/);

    const noUrl = await cli(["user", "reset-link", "eve@example.com"]);
    assert.equal(noUrl.code, 1);
    // The line itself (bun run adds one of its own after it).
    assert.ok(
      noUrl.stderr.split("\n").includes(
        "error: user reset-link needs PUBLIC_URL (the origin of the link), e.g. PUBLIC_URL=https://auth.example.com",
      ),
      noUrl.stderr,
    );
    const link = await cli(["user", "reset-link", "eve@example.com"], { PUBLIC_URL: "https://auth.example.com" });
    assert.equal(link.code, 0, link.stderr);
    const token = /^https:\/\/auth\.example\.com\/#reset=(\S+)$/.exec(link.stdout.trim())?.[1];
    assert.ok(token, link.stdout);

    // Without SMTP_URL: a link handed over by the operator still works.
    server = await serve({ ...env, EMAIL_VERIFICATION: "optional" });
    const c = client(server);
    const me = await c.login("eve@example.com", PASSWORD);
    assert.equal((await me.json()).email_verified, true);
    const confirm = () => c.call("/api/v1/auth_session/password_reset/confirm", "POST", { token, new_password: NEW_PASSWORD });
    assert.equal((await confirm()).status, 200);
    assert.equal((await confirm()).status, 400);
    assert.equal((await c.login("eve@example.com", NEW_PASSWORD)).status, 200);
    const forgot = await c.call("/api/v1/auth_session/password_reset", "POST", { email: "eve@example.com" });
    assert.deepEqual([forgot.status, await forgot.json()], [503, { error: "email is not configured" }]);
  });
});
