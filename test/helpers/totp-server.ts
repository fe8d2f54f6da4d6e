import { after, describe, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, HOW_TO_RUN, SERVER_URL, type TestDatabase } from "./postgres.ts";
import assert from "node:assert/strict";
import { basic } from "./app.ts";
import { RUNTIME, runToEnd, type Server, startServer, tsCommand } from "./server.ts";
import { assertError, type Call, disableTotp, enrolTotp, login, SECRET_KEY, sessionCookieOf, wrongCode } from "./totp.ts";
import { totpCode } from "../../src/auth/totp.ts";

/**
 * TOTP end to end against real server processes on a store that outlives
 * a process (file, kv, postgres): the whole flow over HTTP, the startup's
 * refusal without the right SECRET_KEY, and on stores several processes
 * share, a code replayed against a second server and the CLI's reset for
 * a user who lost the phone.
 */

const EMAIL = "bob@hbtn.io";
const PASSWORD = "correct-Horse-9";

/** Opens fresh stores of `storage` (as server environment variables), removed after the test file. */
function storeOpener(storage: "file" | "kv" | "postgres"): () => Promise<Record<string, string>> {
  const dirs: string[] = [];
  const databases: TestDatabase[] = [];
  after(async () => {
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
    await Promise.all(databases.map((db) => db.drop()));
  });
  const folder = () => {
    const d = mkdtempSync(join(tmpdir(), "totp-server-"));
    dirs.push(d);
    return d;
  };
  if (storage === "file") return () => Promise.resolve({ STORAGE: "file", DATA_DIR: folder() });
  if (storage === "kv") {
    return () => {
      const dir = folder();
      return Promise.resolve({ STORAGE: "kv", DATA_DIR: dir, KV_PATH: join(dir, "s.kv") });
    };
  }
  return async () => {
    const db = await createDatabase("totp_server");
    databases.push(db);
    return { STORAGE: "postgres", DATABASE_URL: db.url };
  };
}

/** The CLI's entry, run by the runtime under test. */
const cli = (args: string[]): [string, string[]] => {
  const [bin, entry] = tsCommand("src/entry/cli.ts");
  return [bin, [...entry, ...args]];
};
const callOf = (s: Server): Call => (path, init) => fetch(s.url + path, init);
const sessionServer = (store: Record<string, string>) => startServer({ ...store, AUTH_TYPE: "session_db_auth", SECRET_KEY });

/** A store with the user in it (added by the CLI: signing up needs a login under session auth). */
async function storeWithUser(open: () => Promise<Record<string, string>>): Promise<Record<string, string>> {
  const store = await open();
  const added = await runToEnd(...cli(["user", "add", EMAIL]), store, 60_000, `${PASSWORD}\n`);
  assert.equal(added.code, 0, added.stderr);
  return store;
}

/** Starting a server on `store` without SECRET_KEY, or with another one, fails: one line, a non-zero exit. */
async function refusesToStart(store: Record<string, string>): Promise<void> {
  const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
  const base = { ...store, AUTH_TYPE: "session_db_auth", API_HOST: "127.0.0.1", API_PORT: "0" };
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /SECRET_KEY is not set, but 1 user has a TOTP second factor/],
    [{ SECRET_KEY: SECRET_KEY + "-another" }, /SECRET_KEY is not the key the TOTP secrets were sealed under/],
  ];
  for (const [env, line] of cases) {
    const r = await runToEnd(bin, args, { ...base, ...env });
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], line);
    assert.doesNotMatch(r.stderr + r.stdout, /listening/);
  }
}

/** The user logged in, with TOTP on: its session cookie, secret and recovery codes. */
async function enrolled(call: Call) {
  const cookie = sessionCookieOf(await login(call, EMAIL, PASSWORD));
  return { cookie, ...(await enrolTotp(call, cookie, Date.now())) };
}

/**
 * The real-server TOTP tests on one storage: "flow" (the whole flow, Basic,
 * the startup's refusal) or "shared" (two servers on one store, and the
 * CLI), one test file each, since each file has its own time limit.
 */
export function totpServerSuite(storage: "file" | "kv" | "postgres", part: "flow" | "shared"): void {
  if (storage === "postgres" && !SERVER_URL) {
    describe("TOTP against real servers on postgres storage", () => {
      it(`PostgreSQL tests skipped: DATABASE_URL is unset; run them with ${HOW_TO_RUN}`, { skip: true }, () => {});
    });
    return;
  }
  const open = storeOpener(storage);
  describe(`TOTP against a real ${RUNTIME} server on ${storage} storage`, () => {
    if (part === "flow") {
      it("set up, then a login needs the code (once), a recovery code once, Basic refused, no start without the right SECRET_KEY; turned off, the password alone", async () => {
        const store = await storeWithUser(open);
        let server = await sessionServer(store);
        try {
          const call = callOf(server);
          const { cookie, secret, recovery } = await enrolled(call);
          const out = await call("/api/v1/auth_session/logout", { method: "DELETE", headers: { cookie } });
          assert.equal(out.status, 200);
          await assertError(await login(call, EMAIL, PASSWORD), 401, "second factor required");
          await assertError(await login(call, EMAIL, PASSWORD, wrongCode(secret, Date.now())), 401, "invalid code");
          // The confirming code's step is spent; the next step's code is within the drift allowed.
          const code = totpCode(secret, Date.now() + 30_000);
          const ok = await login(call, EMAIL, PASSWORD, code);
          assert.equal(ok.status, 200);
          await assertError(await login(call, EMAIL, PASSWORD, code), 401, "invalid code");
          assert.equal((await login(call, EMAIL, PASSWORD, recovery[0])).status, 200);
          await assertError(await login(call, EMAIL, PASSWORD, recovery[0]), 401, "invalid code");

          // Basic auth, from a server of that auth type on the same store (a file store has one server at a time).
          if (storage === "file") await server.stop();
          const basicServer = await startServer({ ...store, AUTH_TYPE: "basic_auth", SECRET_KEY });
          try {
            const r = await fetch(basicServer.url + "/api/v1/users/me", { headers: { authorization: basic(EMAIL, PASSWORD) } });
            assert.match(r.headers.get("www-authenticate") ?? "", /^Basic /);
            await assertError(r, 401, "second factor required");
          } finally {
            await basicServer.stop();
          }
          await refusesToStart(store);
          if (storage === "file") server = await sessionServer(store);

          const again = sessionCookieOf(await login(callOf(server), EMAIL, PASSWORD, recovery[1]));
          assert.equal((await disableTotp(callOf(server), again, PASSWORD)).status, 200);
          assert.equal((await login(callOf(server), EMAIL, PASSWORD)).status, 200);
        } finally {
          await server.stop();
        }
      });
    }
    if (part === "shared") {
      it("one code sent to two servers sharing the store at once logs in once; cli user reset-factors lets the user in with the password alone", async () => {
        const store = await storeWithUser(open);
        const [a, b] = [await sessionServer(store), await sessionServer(store)];
        try {
          const { secret } = await enrolled(callOf(a));
          const code = totpCode(secret, Date.now() + 30_000);
          const answers = await Promise.all([login(callOf(a), EMAIL, PASSWORD, code), login(callOf(b), EMAIL, PASSWORD, code)]);
          assert.deepEqual(answers.map((r) => r.status).sort(), [200, 401]);

          const shown = await runToEnd(...cli(["user", "factors", EMAIL]), store);
          assert.equal(shown.code, 0, shown.stderr);
          assert.match(shown.stdout, /TOTP: on since .*, 10 recovery code\(s\) left/);
          assert.match(shown.stdout, /passkeys: 0/);
          // A Basic server on the same store has refused these credentials (and remembers it).
          const basicServer = await startServer({ ...store, AUTH_TYPE: "basic_auth", SECRET_KEY });
          try {
            const viaBasic = () => fetch(basicServer.url + "/api/v1/users/me", { headers: { authorization: basic(EMAIL, PASSWORD) } });
            await assertError(await viaBasic(), 401, "second factor required");
            const reset = await runToEnd(...cli(["user", "reset-factors", EMAIL]), store);
            assert.equal(reset.code, 0, reset.stderr);
            assert.match(reset.stdout, /removed TOTP of user .* the password alone logs in now/);
            assert.match(reset.stderr, /factors_reset/);
            assert.equal((await login(callOf(b), EMAIL, PASSWORD)).status, 200);
            assert.equal((await viaBasic()).status, 200, "the remembered refusal ends with the factor");
          } finally {
            await basicServer.stop();
          }
        } finally {
          await Promise.all([a.stop(), b.stop()]);
        }
      });
    }
  });
}
