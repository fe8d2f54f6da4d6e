import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { RUNTIME } from "./helpers/server.ts";
import { tokenIn } from "./helpers/mail.ts";
import {
  cleanUp,
  client,
  NEW_PASSWORD,
  PASSWORD,
  serve,
  sessionCookie,
  smtpServer,
  STORAGES,
  untilLogged,
} from "./helpers/self-service-server.ts";

after(cleanUp);

/**
 * Self-service accounts on the real server of this runtime, sending real
 * email to an SMTP server in the test process: sign-up, verification,
 * login, forgotten password and reset on every storage. (The mail server
 * away: self-service-smtp.test.ts; SIGNUP and the CLI: self-service-cli.test.ts.)
 */

for (const [name, storage] of Object.entries(STORAGES)) {
  describe(`self-service on a real ${RUNTIME} server, ${name} storage`, () => {
    it("signs up, verifies the emailed link, logs in, resets a forgotten password: the old session ends", async () => {
      const smtp = await smtpServer();
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
