import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { basic, cookieOf, fakeClock, testApp } from "./helpers/app.ts";
import { mailSetup, recipients, tokenIn } from "./helpers/mail.ts";
import { everyStorage } from "./helpers/storages.ts";
import type { StorageDriver } from "../src/storage/driver.ts";

/**
 * Password reset, email verification and email change in-process, on every
 * storage, with the emails going through a real SMTP server: the tokens'
 * rules (single use, expiry, purpose, voided by a password change) and the
 * answers that must not tell whether an email has an account.
 */

const ENV = { AUTH_TYPE: "session_db_auth", PUBLIC_URL: "https://auth.example.com", SMTP_URL: "log:" };
const PASSWORD = "Passw0rd-123";
const NEW_PASSWORD = "An0ther-Secret!";

// Kept (and closed at the end): a file store dropped unclosed leaves its journal's handle to the garbage collector, which Bun refuses.
const drivers: StorageDriver[] = [];
after(() => Promise.all(drivers.map((d) => d.close())));

async function setup(open: (now: () => number) => Promise<StorageDriver>, env = {}) {
  const clock = fakeClock(Date.now());
  const mail = await mailSetup();
  const driver = await open(clock.now);
  drivers.push(driver);
  const t = testApp({ env: { ...ENV, ...env }, driver, now: clock.now, outbox: mail.outbox });
  const login = (email: string, password: string) => t.json("/api/v1/auth_session/login", "POST", { email, password });
  /** Waits until every email the app decided to send has been delivered (or given up). */
  const settle = () => t.app.drainMail(20_000);
  return { ...t, ...mail, clock, login, settle };
}

for (const [name, open] of Object.entries(everyStorage("self-service"))) {
  describe(`self-service on ${name}`, () => {
    it("resets a password through the emailed link: old sessions end, the link works once", async () => {
      const t = await setup(open);
      await t.seed("bob@example.com");
      const before = cookieOf(await t.login("bob@example.com", PASSWORD));
      const asked = await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      assert.equal(asked.status, 202);
      assert.deepEqual(await asked.json(), {});
      await t.smtp.waitFor(1);
      const mail = t.smtp.received[0];
      assert.equal(mail.subject, "Reset your password");
      assert.deepEqual(recipients(mail), ["bob@example.com"]);
      assert.match(mail.text ?? "", /https:\/\/auth\.example\.com\/#reset=/);
      assert.match(mail.text ?? "", /1 hour/);
      assert.doesNotMatch(mail.text ?? "", new RegExp(PASSWORD));
      const token = tokenIn(t.smtp, 0, "reset");
      // The rules of sign-up apply, and a refused password does not use the link up.
      const weak = await t.json("/api/v1/auth_session/password_reset/confirm", "POST", { token, new_password: "password" });
      assert.equal(weak.status, 400);
      // The contract's words for a reset: those of a sign-up.
      assert.match((await weak.json()).error, /^Can't create User: /);
      const done = await t.form("/api/v1/auth_session/password_reset/confirm", { token, new_password: NEW_PASSWORD });
      assert.equal(done.status, 200);
      assert.deepEqual(await done.json(), {});
      const again = await t.json("/api/v1/auth_session/password_reset/confirm", "POST", { token, new_password: NEW_PASSWORD + "x" });
      assert.equal(again.status, 400);
      assert.deepEqual(await again.json(), { error: "invalid or expired token" });
      assert.equal((await t.request("/api/v1/users/me", { headers: { cookie: before } })).status, 403, "the old session ended");
      assert.equal((await t.login("bob@example.com", PASSWORD)).status, 401);
      assert.equal((await t.login("bob@example.com", NEW_PASSWORD)).status, 200);
      await t.smtp.waitFor(2);
      assert.equal(t.smtp.received[1].subject, "Your password was changed");
      assert.doesNotMatch(t.smtp.received[1].text ?? "", new RegExp(NEW_PASSWORD));
    });

    it("answers an unknown email exactly as a known one, and sends nothing", async () => {
      const t = await setup(open);
      await t.seed("bob@example.com");
      const known = await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      const unknown = await t.json("/api/v1/auth_session/password_reset", "POST", { email: "nobody@example.com" });
      assert.equal(known.status, unknown.status);
      assert.equal(await known.text(), await unknown.text());
      assert.equal(known.headers.get("content-type"), unknown.headers.get("content-type"));
      await t.settle();
      assert.deepEqual(t.smtp.received.map(recipients), [["bob@example.com"]]);
    });

    it("lets only one of two concurrent uses of a token through", async () => {
      const t = await setup(open);
      await t.seed("bob@example.com");
      await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      await t.smtp.waitFor(1);
      const token = tokenIn(t.smtp, 0, "reset");
      const confirm = (pw: string) => t.json("/api/v1/auth_session/password_reset/confirm", "POST", { token, new_password: pw });
      const statuses = (await Promise.all([confirm(NEW_PASSWORD), confirm(NEW_PASSWORD + "2")])).map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 400]);
    });

    it("refuses an expired token, and a reset link once the password was changed", async () => {
      const t = await setup(open);
      const bob = await t.seed("bob@example.com");
      await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      await t.smtp.waitFor(2);
      const [first, second] = [tokenIn(t.smtp, 0, "reset"), tokenIn(t.smtp, 1, "reset")];
      // A password change (with the current password) voids every outstanding link.
      const cookie = cookieOf(await t.login("bob@example.com", PASSWORD));
      const changed = await t.json("/api/v1/users/me/password", "PUT", { current_password: PASSWORD, new_password: NEW_PASSWORD }, {
        cookie,
      });
      assert.equal(changed.status, 200);
      const voided = await t.json("/api/v1/auth_session/password_reset/confirm", "POST", { token: first, new_password: "Th1rd-Secret!" });
      assert.equal(voided.status, 400);
      await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      await t.smtp.waitFor(3);
      const late = tokenIn(t.smtp, 2, "reset");
      t.clock.advance(3600_000 + 1000);
      const expired = await t.json("/api/v1/auth_session/password_reset/confirm", "POST", { token: late, new_password: "Th1rd-Secret!" });
      assert.deepEqual([expired.status, await expired.json()], [400, { error: "invalid or expired token" }]);
      assert.notEqual(second, late);
      assert.equal((await t.driver.getAccount(bob.id))?.tokens.length, 1);
      // The app's background sweep (where expired sessions are swept) removes it.
      await t.runTask("expired tokens sweep");
      assert.deepEqual((await t.driver.getAccount(bob.id))?.tokens, []);
    });

    it("sends at most 3 emails per account an hour, answering 202 all the same", async () => {
      const t = await setup(open);
      await t.seed("bob@example.com");
      for (let i = 0; i < 5; i++) {
        const r = await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
        assert.equal(r.status, 202);
      }
      await t.settle();
      assert.equal(t.smtp.received.length, 3);
      t.clock.advance(3600_000 + 1000);
      await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
      await t.smtp.waitFor(4);
    });

    it("refuses tokens that are not ours with one answer", async () => {
      const t = await setup(open);
      const user = await t.seed("bob@example.com");
      for (const token of ["x", `${user.id}.${"A".repeat(43)}`, "a.b.c", "🙂".repeat(300)]) {
        const r = await t.json("/api/v1/auth_session/verify_email", "POST", { token });
        assert.deepEqual([r.status, await r.json()], [400, { error: "invalid or expired token" }], token);
      }
      const missing = await t.json("/api/v1/auth_session/password_reset/confirm", "POST", { new_password: NEW_PASSWORD });
      assert.deepEqual(await missing.json(), { error: "token missing" });
    });

    it("changes the email only once the link sent to the new address is used", async () => {
      const t = await setup(open, { EMAIL_VERIFICATION: "optional" });
      const bob = await t.seed("bob@example.com");
      // An admin grant proves the address it was made for only: it lapses with the change.
      const granted = { admin_granted_at: "2025-01-01T00:00:00", admin_email: "bob@example.com" };
      await t.driver.updateAccount(bob.id, (a) => ({ account: { ...a, ...granted }, result: undefined }));
      await t.seed("taken@example.com");
      const cookie = cookieOf(await t.login("bob@example.com", PASSWORD));
      const change = (email: string, current_password: string) =>
        t.json("/api/v1/users/me/email", "PUT", { email, current_password }, { cookie });
      assert.equal((await change("new@example.com", "wrong-password")).status, 401);
      assert.equal((await change("new@example.com", PASSWORD)).status, 202);
      await t.smtp.waitFor(2);
      const [link, notice] = t.smtp.received;
      assert.deepEqual([recipients(link), recipients(notice)], [["new@example.com"], ["bob@example.com"]]);
      assert.equal((await (await t.request("/api/v1/users/me", { headers: { cookie } })).json()).email, "bob@example.com");
      const verified = await t.json("/api/v1/auth_session/verify_email", "POST", { token: tokenIn(t.smtp, 0, "verify") });
      assert.equal(verified.status, 200);
      const me = await (await t.request("/api/v1/users/me", { headers: { cookie } })).json();
      assert.deepEqual([me.email, me.email_verified], ["new@example.com", true]);
      assert.equal((await t.login("new@example.com", PASSWORD)).status, 200, "the new address logs in");
      assert.equal((await t.login("bob@example.com", PASSWORD)).status, 401, "the old one no longer does");
      const account = await t.driver.getAccount(bob.id);
      assert.deepEqual([account?.admin_granted_at, account?.admin_email], [null, null]);
      // An address another account has: the same answer, a notice to it, no link anywhere.
      assert.equal((await change("taken@example.com", PASSWORD)).status, 202);
      await t.smtp.waitFor(4);
      assert.deepEqual(t.smtp.received.slice(2).map(recipients), [["taken@example.com"], ["new@example.com"]]);
      for (const m of t.smtp.received.slice(2)) assert.doesNotMatch(m.text ?? "", /#verify=/);
    });

    it("never gives two accounts one address: another letter case is taken, and so is an address taken while the link waited", async () => {
      const t = await setup(open);
      const bob = await t.seed("bob@example.com");
      await t.seed("taken@example.com");
      const cookie = cookieOf(await t.login("bob@example.com", PASSWORD));
      const change = (email: string) => t.json("/api/v1/users/me/email", "PUT", { email, current_password: PASSWORD }, { cookie });
      assert.equal((await change("TAKEN@Example.com")).status, 202);
      await t.smtp.waitFor(2);
      assert.deepEqual(t.smtp.received.map(recipients), [["taken@example.com"], ["bob@example.com"]]);
      for (const m of t.smtp.received) assert.doesNotMatch(m.text ?? "", /#verify=/);

      assert.equal((await change("free@example.com")).status, 202);
      await t.smtp.waitFor(4);
      const token = tokenIn(t.smtp, 2, "verify");
      const other = await t.seed("Free@Example.com");
      const used = await t.json("/api/v1/auth_session/verify_email", "POST", { token });
      assert.deepEqual([used.status, await used.json()], [400, { error: "Can't update User: email already exists" }]);
      assert.equal((await t.driver.getUser(bob.id))?.email, "bob@example.com");
      assert.deepEqual(await t.driver.emailHolders("free@example.com"), [other.id]);
    });
  });
}

describe("self-service without email", () => {
  it("answers 503 on the routes that send email when SMTP_URL is unset", async () => {
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" } });
    await t.seed("bob@example.com");
    const r = await t.json("/api/v1/auth_session/password_reset", "POST", { email: "bob@example.com" });
    assert.deepEqual([r.status, await r.json()], [503, { error: "email is not configured" }]);
    const cookie = cookieOf(await t.json("/api/v1/auth_session/login", "POST", { email: "bob@example.com", password: PASSWORD }));
    const change = await t.json("/api/v1/users/me/email", "PUT", { email: "b@example.com", current_password: PASSWORD }, { cookie });
    assert.equal(change.status, 503);
    const resend = await t.request("/api/v1/users/me/email_verification", { method: "POST", headers: { cookie } });
    assert.equal(resend.status, 503);
  });
});

describe("sign-up modes and the verified flag", () => {
  const signup = (t: ReturnType<typeof testApp>, email: string) =>
    t.json("/api/v1/users", "POST", { email, password: PASSWORD }, { "x-forwarded-for": "203.0.113.9" });

  it("SIGNUP=open: anyone, at most 10 accounts an hour from one address; closed: 403; authenticated: a login first", async () => {
    const open = testApp({ env: { AUTH_TYPE: "session_db_auth", SIGNUP: "open", TRUST_PROXY: "1" } });
    for (let i = 0; i < 10; i++) assert.equal((await signup(open, `u${i}@example.com`)).status, 201);
    const refused = await signup(open, "u10@example.com");
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    const other = await open.json("/api/v1/users", "POST", { email: "u11@example.com", password: PASSWORD }, {
      "x-forwarded-for": "203.0.113.10",
    });
    assert.equal(other.status, 201, "another address has its own allowance");
    const closed = testApp({ env: { AUTH_TYPE: "session_db_auth", SIGNUP: "closed" } });
    await closed.seed("admin@example.com");
    const cookie = cookieOf(await closed.json("/api/v1/auth_session/login", "POST", { email: "admin@example.com", password: PASSWORD }));
    const r = await closed.json("/api/v1/users", "POST", { email: "x@example.com", password: PASSWORD }, { cookie });
    assert.deepEqual([r.status, await r.json()], [403, { error: "Sign-up is closed" }]);
    assert.equal((await signup(testApp({ env: { AUTH_TYPE: "session_db_auth" } }), "y@example.com")).status, 401);
  });

  it("EMAIL_VERIFICATION=off keeps the original's user JSON; turning it on later locks nobody out", async () => {
    const clock = fakeClock();
    const t = testApp({ env: { AUTH_TYPE: "session_db_auth" }, now: clock.now });
    await t.seed("old@example.com");
    const before = await t.json("/api/v1/auth_session/login", "POST", { email: "old@example.com", password: PASSWORD });
    assert.deepEqual(Object.keys(await before.json()), ["created_at", "email", "first_name", "id", "last_name", "updated_at"]);
    const users = await (await t.request("/api/v1/users", { headers: { cookie: cookieOf(before) } })).json();
    assert.deepEqual(Object.keys(users[0]), ["created_at", "email", "first_name", "id", "last_name", "updated_at"]);
    const { outbox } = await mailSetup();
    const on = testApp({ env: { ...ENV, EMAIL_VERIFICATION: "required" }, driver: t.driver, now: clock.now, outbox });
    const login = await on.json("/api/v1/auth_session/login", "POST", { email: "old@example.com", password: PASSWORD });
    assert.equal(login.status, 200);
    assert.equal((await login.json()).email_verified, true);
    const list = await (await on.request("/api/v1/users", { headers: { cookie: cookieOf(login) } })).json();
    assert.deepEqual(list.map((u: { email_verified: boolean }) => u.email_verified), [true]);
    const resend = await on.request("/api/v1/users/me/email_verification", { method: "POST", headers: { cookie: cookieOf(login) } });
    assert.deepEqual([resend.status, await resend.json()], [400, { error: "email already verified" }]);
  });

  it("EMAIL_VERIFICATION=required: Basic credentials of an unverified address let nobody in", async () => {
    const { outbox } = await mailSetup();
    const t = testApp({ env: { ...ENV, AUTH_TYPE: "basic_auth", EMAIL_VERIFICATION: "required" }, outbox });
    const user = await t.seed("bob@example.com");
    const me = () => t.request("/api/v1/users/me", { headers: { authorization: basic("bob@example.com", PASSWORD) } });
    assert.equal((await me()).status, 200, "an account from before (no flag) counts as verified");
    await t.driver.updateAccount(user.id, (a) => ({ account: { ...a, email_verified: false }, result: undefined }));
    assert.equal((await me()).status, 403);
    await t.driver.updateAccount(user.id, (a) => ({ account: { ...a, email_verified: true }, result: undefined }));
    assert.equal((await me()).status, 200);
  });
});
