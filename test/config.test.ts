import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/app/config.ts";
import { StartupError } from "../src/domain/errors.ts";
import { RUNTIME, runToEnd, startCommand, startServer, tsCommand } from "./helpers/server.ts";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const c = parseConfig({}, "/here");
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.port, 5000);
    assert.equal(c.auth.type, null);
    assert.equal(c.sessionName, "_my_session_id");
    assert.equal(c.sessionDuration, 0);
    assert.equal(c.storage, "file");
    assert.equal(c.dataDir, "/here");
  });

  it("reads every variable", () => {
    const c = parseConfig(
      {
        API_HOST: "127.0.0.1",
        API_PORT: "8080",
        AUTH_TYPE: "session_db_auth",
        SESSION_NAME: "sid",
        SESSION_DURATION: " 60 ",
        STORAGE: "memory",
        DATA_DIR: "/data",
      },
      "/here",
    );
    assert.deepEqual([c.host, c.port, c.auth.type, c.sessionName, c.sessionDuration, c.storage, c.dataDir], [
      "127.0.0.1",
      8080,
      "session_db_auth",
      "sid",
      60,
      "memory",
      "/data",
    ]);
    assert.equal(parseConfig({ AUTH_TYPE: "" }, "/").auth.label, "unset");
    assert.equal(parseConfig({ SESSION_DURATION: "-10" }, "/").sessionDuration, 0);
    assert.equal(parseConfig({ SESSION_DURATION: "" }, "/").sessionDuration, 0);
  });

  it("fails closed on bad values, naming the variable, the value and what is accepted", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ AUTH_TYPE: "basic" }, /AUTH_TYPE "basic".*basic_auth/],
      [{ AUTH_TYPE: "Basic_Auth" }, /AUTH_TYPE/],
      [{ SESSION_DURATION: "abc" }, /SESSION_DURATION "abc".*integer/],
      [{ SESSION_DURATION: "1.5" }, /SESSION_DURATION "1.5"/],
      [{ STORAGE: "redis" }, /STORAGE "redis".*file, kv, postgres, memory/],
      [{ API_PORT: "http" }, /API_PORT "http"/],
      [{ API_PORT: "70000" }, /API_PORT "70000"/],
      [{ API_PORT: "-1" }, /API_PORT/],
      [{ SESSION_NAME: "bad name" }, /SESSION_NAME/],
      [{ PASSWORD_MIN_LENGTH: "0" }, /PASSWORD_MIN_LENGTH/],
      [{ KV_URL: "ftp://x" }, /KV_URL/],
    ];
    for (const [env, re] of cases) {
      assert.throws(() => parseConfig(env, "/"), (e: unknown) => e instanceof StartupError && re.test(e.message), JSON.stringify(env));
    }
  });

  it("refuses a negative idle timeout and an admin entry that is not an email address, naming what is accepted", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SESSION_IDLE_TIMEOUT: "-5" }, /^Invalid SESSION_IDLE_TIMEOUT "-5": expected a non-negative integer number of seconds/],
      [{ ADMIN_EMAILS: "notanemail" }, /^Invalid ADMIN_EMAILS "notanemail": expected a comma-separated list of email addresses/],
      [{ ADMIN_EMAILS: "boss@hbtn.io, nobody" }, /^Invalid ADMIN_EMAILS "boss@hbtn.io, nobody"/],
    ];
    for (const [env, re] of cases) {
      assert.throws(() => parseConfig(env, "/"), (e: unknown) => e instanceof StartupError && re.test(e.message), JSON.stringify(env));
    }
    // What stays accepted: no idle limit, and admins listed in any case with spaces around.
    assert.equal(parseConfig({ SESSION_IDLE_TIMEOUT: "0" }, "/").sessionIdleTimeout, 0);
    assert.equal(parseConfig({ SESSION_IDLE_TIMEOUT: " 600 " }, "/").sessionIdleTimeout, 600);
    assert.deepEqual(parseConfig({ ADMIN_EMAILS: " Boss@HBTN.io , ops@localhost,," }, "/").adminEmails, ["boss@hbtn.io", "ops@localhost"]);
  });

  it("STORAGE=postgres needs a complete DATABASE_URL, never repeated in a message (it may hold a password)", () => {
    const pg = (env: Record<string, string>) => parseConfig({ STORAGE: "postgres", ...env }, "/");
    const c = pg({ DATABASE_URL: " postgres://app:s3cret@db.internal:6543/auth?sslmode=require " });
    assert.equal(c.databaseUrl, "postgres://app:s3cret@db.internal:6543/auth?sslmode=require");
    assert.equal(c.databasePoolSize, null);
    assert.equal(pg({ DATABASE_URL: "postgres://a@h/d", DATABASE_POOL_SIZE: "12" }).databasePoolSize, 12);
    assert.equal(parseConfig({ DATABASE_URL: "not checked" }, "/").databaseUrl, null, "only read with STORAGE=postgres");
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /STORAGE=postgres needs DATABASE_URL/],
      [{ DATABASE_URL: "s3cret garbage" }, /DATABASE_URL is not a valid URL/],
      [{ DATABASE_URL: "http://app:s3cret@db/auth" }, /postgres:\/\/ or postgresql:\/\/ \(not http:\/\/\)/],
      [{ DATABASE_URL: "postgres://" }, /DATABASE_URL has no host, no user, no database/],
      [{ DATABASE_URL: "postgres://:s3cret@db/auth" }, /DATABASE_URL has no user;/],
      [{ DATABASE_URL: "postgres://app:s3cret@db" }, /DATABASE_URL has no database;/],
      [{ DATABASE_URL: "postgres://a@h/d", DATABASE_POOL_SIZE: "0" }, /DATABASE_POOL_SIZE "0"/],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => pg(env),
        (e: unknown) => e instanceof StartupError && re.test(e.message) && !e.message.includes("s3cret"),
        JSON.stringify(env),
      );
    }
  });

  it("reads the self-service variables: defaults, MAIL_FROM from PUBLIC_URL, and the rules between them", () => {
    const d = parseConfig({}, "/here");
    assert.deepEqual([d.signup, d.smtpUrl, d.mailFrom, d.emailVerification, d.passwordResetTtl, d.emailVerificationTtl], [
      "authenticated",
      null,
      null,
      "off",
      3600,
      86400,
    ]);
    const c = parseConfig({
      SIGNUP: "open",
      SMTP_URL: "smtps://u:p@mail.example.com:465",
      PUBLIC_URL: "https://auth.example.com/",
      EMAIL_VERIFICATION: "required",
      PASSWORD_RESET_TTL: "600",
    }, "/here");
    assert.deepEqual([c.signup, c.smtpUrl, c.mailFrom, c.emailVerification, c.passwordResetTtl], [
      "open",
      "smtps://u:p@mail.example.com:465",
      "no-reply@auth.example.com",
      "required",
      600,
    ]);
    assert.equal(
      parseConfig({ SMTP_URL: "log:", PUBLIC_URL: "http://localhost:5000", MAIL_FROM: "Accounts <a@b.io>" }, "/").mailFrom,
      "Accounts <a@b.io>",
    );
    const refused = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => parseConfig(env, "/here"),
        (e: Error) => e instanceof StartupError && pattern.test(e.message),
        JSON.stringify(env),
      );
    refused({ SIGNUP: "everyone" }, /^Invalid SIGNUP "everyone": expected one of authenticated, open, closed$/);
    refused({ SMTP_URL: "mail.example.com" }, /^Invalid SMTP_URL "mail.example.com": expected smtp:\/\//);
    refused({ SMTP_URL: "smtp://mail.example.com" }, /^SMTP_URL needs PUBLIC_URL/);
    refused({ EMAIL_VERIFICATION: "yes" }, /^Invalid EMAIL_VERIFICATION "yes": expected one of off, optional, required$/);
    refused({ EMAIL_VERIFICATION: "required" }, /^EMAIL_VERIFICATION=required needs SMTP_URL/);
    refused({ PASSWORD_RESET_TTL: "1h" }, /^Invalid PASSWORD_RESET_TTL "1h": expected an integer number of seconds/);
    refused({ EMAIL_VERIFICATION_TTL: "0" }, /^Invalid EMAIL_VERIFICATION_TTL "0"/);
    refused({ MAIL_FROM: "nobody" }, /^Invalid MAIL_FROM "nobody": expected an email address/);
  });

  it("SMTP_URL without PUBLIC_URL stops the real process with one line; SMTP_URL=log: starts with a warning", async () => {
    const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
    const r = await runToEnd(bin, args, { SMTP_URL: "smtp://127.0.0.1:2525", API_HOST: "127.0.0.1", API_PORT: "0", STORAGE: "memory" });
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /SMTP_URL needs PUBLIC_URL/);
    const server = await startServer({ SMTP_URL: "log:", PUBLIC_URL: "http://localhost", STORAGE: "memory", API_HOST: "127.0.0.1" });
    await server.stop();
    assert.match(server.output(), /SMTP_URL=log: emails are written to this log.*for development only/);
  });

  it("a bad value stops the real process before it binds: one line, non-zero exit", async () => {
    const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
    const r = await runToEnd(bin, args, { AUTH_TYPE: "basic_auht", API_HOST: "127.0.0.1", API_PORT: "0", STORAGE: "memory" });
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /AUTH_TYPE "basic_auht"/);
    assert.doesNotMatch(r.stderr + r.stdout, /listening/);
  });

  it("a bad value found at startup stops the real process the same way: SESSION_IDLE_TIMEOUT, ADMIN_EMAILS", async () => {
    const [bin, args] = tsCommand(`src/entry/${RUNTIME}.ts`);
    for (const [name, value] of [["SESSION_IDLE_TIMEOUT", "-5"], ["ADMIN_EMAILS", "notanemail"]]) {
      const r = await runToEnd(bin, args, {
        [name]: value,
        AUTH_TYPE: "session_exp_auth",
        API_HOST: "127.0.0.1",
        API_PORT: "0",
        STORAGE: "memory",
      });
      assert.notEqual(r.code, 0);
      assert.deepEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${name} "${value}"`));
      assert.doesNotMatch(r.stderr + r.stdout, /listening/);
    }
  });

  it("a data folder that cannot be created stops the start with one line, never a hang (DATA_DIR=/proc/nope)", async () => {
    const commands = [tsCommand(`src/entry/${RUNTIME}.ts`)];
    if (RUNTIME === "deno") {
      // Also with the permissions `deno task start` grants, which do not reach /proc.
      commands.push(startCommand("deno"));
    }
    for (const [bin, args] of commands) {
      for (const storage of ["file", "kv"]) {
        const r = await runToEnd(bin, args, { DATA_DIR: "/proc/nope", STORAGE: storage, API_HOST: "127.0.0.1", API_PORT: "0" }, 60_000);
        assert.notEqual(r.code, null, `${args.join(" ")}: killed after a minute (hung)`);
        assert.notEqual(r.code, 0);
        // `deno task` names the task it runs on a line of its own: not the service's.
        const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("Task start "));
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /DATA_DIR "\/proc\/nope"/);
        assert.doesNotMatch(r.stderr + r.stdout, /listening/);
      }
    }
  });
});
