import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { basic, fakeClock, testApp } from "./helpers/app.ts";
import { everyStorage } from "./helpers/storages.ts";
import {
  assertError,
  type Call,
  disableTotp,
  enrolTotp,
  FACTORS,
  login,
  SECRET_KEY,
  sessionCookieOf,
  TOTP,
  wrongCode,
} from "./helpers/totp.ts";
import { totpCode } from "../src/auth/totp.ts";
import { parseConfig } from "../src/app/config.ts";
import { StartupError } from "../src/domain/errors.ts";

/** TOTP with recovery codes, in-process, on every storage. */

const PASSWORD = "correct-Horse-9";
const EMAIL = "bob@hbtn.io";
const SESSIONS = { AUTH_TYPE: "session_db_auth", SECRET_KEY };
const storages = everyStorage("second-factor");

for (const [storage, open] of Object.entries(storages)) {
  describe(`TOTP on ${storage} storage`, () => {
    it("enrol, confirm, then a login needs the code: once per code, recovery codes once; disabled by the password", async () => {
      const clock = fakeClock(Date.now());
      const lines: string[] = [];
      const t = testApp({ env: { ...SESSIONS, LOG_FORMAT: "json" }, driver: await open(clock.now), now: clock.now, logLines: lines });
      const call: Call = (p, i) => t.request(p, i);
      await t.seed(EMAIL, PASSWORD);
      const cookie = sessionCookieOf(await login(call, EMAIL, PASSWORD));
      assert.deepEqual(await (await call(FACTORS, { headers: { cookie } })).json(), { totp: false, recovery_codes_left: 0, passkeys: 0 });

      // A pending set-up asks nothing at login.
      assert.equal((await call(TOTP, { method: "POST", headers: { cookie } })).status, 200);
      assert.equal((await login(call, EMAIL, PASSWORD)).status, 200);
      const { secret, recovery } = await enrolTotp(call, cookie, clock.now());
      assert.deepEqual(await (await call(FACTORS, { headers: { cookie } })).json(), { totp: true, recovery_codes_left: 10, passkeys: 0 });
      await assertError(
        await call(TOTP, { method: "POST", headers: { cookie } }),
        409,
        "TOTP is already on: remove it first (DELETE /api/v1/users/me/totp)",
      );

      await assertError(await login(call, EMAIL, PASSWORD), 401, "second factor required");
      // The password comes first: a wrong one says nothing about a factor.
      await assertError(await login(call, EMAIL, "wrong-Password-1", totpCode(secret, clock.now())), 401, "invalid email or password");
      await assertError(await login(call, EMAIL, PASSWORD, wrongCode(secret, clock.now())), 401, "invalid code");
      // The confirming code's step is spent: the next step's code logs in, once.
      clock.advance(30_000);
      const code = totpCode(secret, clock.now());
      const ok = await t.form("/api/v1/auth_session/login", { email: EMAIL, password: PASSWORD, code });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).email, EMAIL);
      await assertError(await login(call, EMAIL, PASSWORD, code), 401, "invalid code");

      // A recovery code (typed in capitals, without its dash) works once.
      const typed = recovery[3].toUpperCase().replace("-", "");
      assert.equal((await login(call, EMAIL, PASSWORD, typed)).status, 200);
      await assertError(await login(call, EMAIL, PASSWORD, recovery[3]), 401, "invalid code");
      assert.equal((await (await call(FACTORS, { headers: { cookie } })).json()).recovery_codes_left, 9);

      await assertError(await disableTotp(call, cookie, "wrong-Password-1"), 401, "invalid email or password");
      const off = await disableTotp(call, cookie, PASSWORD);
      assert.equal(off.status, 200);
      assert.deepEqual(await off.json(), {});
      assert.equal((await login(call, EMAIL, PASSWORD)).status, 200);
      // The old recovery codes went with it; a code sent anyway is not asked for, so ignored.
      assert.equal((await login(call, EMAIL, PASSWORD, recovery[4])).status, 200);

      const events = lines.map((l) => JSON.parse(l)).filter((l) => l.event).map((l) => `${l.event}${l.reason ? `: ${l.reason}` : ""}`);
      for (
        const e of [
          "totp_enrolled",
          "totp_confirmed",
          "second_factor_failed: second factor required",
          "second_factor_failed: invalid code",
          "recovery_code_used",
          "totp_disabled",
        ]
      ) assert.ok(events.includes(e), `${e} in ${events.join(", ")}`);
      assert.ok(!lines.some((l) => l.includes(secret) || l.includes(recovery[0])), "no secret or code in the log");
      await t.driver.close();
    });

    it("a wrong confirmation code is a 400; nothing pending or no code is refused clearly", async () => {
      const clock = fakeClock(Date.now());
      const t = testApp({ env: SESSIONS, driver: await open(clock.now), now: clock.now });
      await t.seed(EMAIL, PASSWORD);
      const cookie = sessionCookieOf(await login((p, i) => t.request(p, i), EMAIL, PASSWORD));
      const confirm = (body: unknown) => t.json(`${TOTP}/confirm`, "POST", body, { cookie });
      await assertError(await confirm({ code: "123456" }), 409, "No TOTP set-up is pending: POST /api/v1/users/me/totp first");
      const { secret } = await (await t.request(TOTP, { method: "POST", headers: { cookie } })).json();
      await assertError(await confirm({}), 400, "code missing");
      await assertError(await confirm({ code: 123456 }), 400, "code missing");
      await assertError(await confirm({ code: wrongCode(secret, clock.now()) }), 400, "invalid code");
      assert.equal((await confirm({ code: totpCode(secret, clock.now()) })).status, 200);
      await assertError(await confirm({ code: totpCode(secret, clock.now()) }), 409, "TOTP is already on");
      await t.driver.close();
    });

    it("Basic auth is refused once TOTP is on, though the credentials were cached before", async () => {
      const clock = fakeClock(Date.now());
      const driver = await open(clock.now);
      const sessions = testApp({ env: SESSIONS, driver, now: clock.now });
      const basicApp = testApp({ env: { AUTH_TYPE: "basic_auth", SECRET_KEY }, driver, now: clock.now });
      await sessions.seed(EMAIL, PASSWORD);
      const auth = { authorization: basic(EMAIL, PASSWORD) };
      assert.equal((await basicApp.request("/api/v1/users/me", { headers: auth })).status, 200);
      // Turning TOTP on under basic_auth would lock the user out: it needs session logins.
      assert.equal((await basicApp.request(TOTP, { method: "POST", headers: auth })).status, 400);
      const cookie = sessionCookieOf(await login((p, i) => sessions.request(p, i), EMAIL, PASSWORD));
      clock.advance(1000); // updated_at has whole seconds
      await enrolTotp((p, i) => sessions.request(p, i), cookie, clock.now());
      for (let i = 0; i < 2; i++) {
        const r = await basicApp.request("/api/v1/users/me", { headers: auth });
        assert.match(r.headers.get("www-authenticate") ?? "", /^Basic realm=/);
        await assertError(r, 401, "second factor required");
      }
      // Turned off again: the cached refusal does not outlive it.
      clock.advance(1000);
      const off = await sessions.request(TOTP, {
        method: "DELETE",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ current_password: PASSWORD }),
      });
      assert.equal(off.status, 200);
      assert.equal((await basicApp.request("/api/v1/users/me", { headers: auth })).status, 200);
      await driver.close();
    });

    it("guessing codes with the right password is locked out like guessing passwords (429)", async () => {
      const clock = fakeClock(Date.now());
      const t = testApp({ env: SESSIONS, driver: await open(clock.now), now: clock.now });
      const call: Call = (p, i) => t.request(p, i);
      await t.seed(EMAIL, PASSWORD);
      const cookie = sessionCookieOf(await login(call, EMAIL, PASSWORD));
      const { secret } = await enrolTotp(call, cookie, clock.now());
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) statuses.push((await login(call, EMAIL, PASSWORD, wrongCode(secret, clock.now()))).status);
      assert.equal(statuses[0], 401);
      assert.equal(statuses.at(-1), 429, statuses.join(" "));
      // Even a right code (the next step's, within the drift allowed) waits: the lock is on guessing.
      const refused = await login(call, EMAIL, PASSWORD, totpCode(secret, clock.now() + 30_000));
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      await t.driver.close();
    });
  });
}

describe("SECRET_KEY", () => {
  it("unset: setting up TOTP answers 503; too short: the config names the rule, never the value", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    await t.seed(EMAIL, PASSWORD);
    const cookie = sessionCookieOf(await login((p, i) => t.request(p, i), EMAIL, PASSWORD));
    await assertError(
      await t.request(TOTP, { method: "POST", headers: { cookie } }),
      503,
      "Second factors are unavailable: SECRET_KEY is not set on this server",
    );
    assert.throws(() => parseConfig({ SECRET_KEY: "short-secret" }, "/"), (e: Error) => {
      assert.ok(e instanceof StartupError);
      assert.match(e.message, /^Invalid SECRET_KEY: 12 characters, expected at least 32/);
      assert.ok(!e.message.includes("short-secret"));
      return true;
    });
    assert.equal(parseConfig({ SECRET_KEY }, "/").secretKey, SECRET_KEY);
  });
});
