import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { RUNTIME } from "./helpers/server.ts";
import { tokenIn } from "./helpers/mail.ts";
import { cleanUp, client, folder, PASSWORD, serve, smtpServer, untilLogged } from "./helpers/self-service-server.ts";

after(cleanUp);

/**
 * The real server of this runtime when its mail server is away or refuses:
 * the answers stay as the contract says, failures are logged with their
 * cause (never a token), transient ones retried, and a stop drains the
 * queue with a bounded wait.
 */

describe(`self-service on a real ${RUNTIME} server: the mail server away or refusing`, () => {
  it("answers 202 while SMTP is down, logs the cause (never the token), and delivers once it is back", async () => {
    const smtp = await smtpServer();
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
    const smtp = await smtpServer();
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
