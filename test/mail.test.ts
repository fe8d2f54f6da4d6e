import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { MailTransport } from "../src/lib/outbox.ts";
import { logTransport } from "../src/entry/smtp.ts";
import { outboxFor } from "./helpers/mail.ts";
import { startSmtp, type TestSmtp } from "./helpers/smtp.ts";

/**
 * The outbox over a real SMTP conversation: what arrives, STARTTLS, and what
 * happens when the mail server refuses or is away. Retries wait a few
 * milliseconds here instead of seconds (the waits are the outbox's option).
 */

const servers: TestSmtp[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
});

const message = (n = 1) => ({
  to: "bob@example.com",
  subject: `Reset your password ${n}`,
  text: `Open https://auth.example.com/#reset=SECRET-TOKEN-${n} within an hour.`,
  html: `<p><a href="https://auth.example.com/#reset=SECRET-TOKEN-${n}">Reset your password</a></p>`,
  tag: "user-1",
});

describe("the outbox over SMTP", () => {
  it("delivers a plain text and an HTML part, from MAIL_FROM, without holding up the sender", async () => {
    const smtp = await startSmtp();
    servers.push(smtp);
    const { outbox, lines } = outboxFor(smtp.url);
    outbox.send(message());
    assert.equal(outbox.pending(), 1, "send only queues");
    await smtp.waitFor(1);
    const [mail] = smtp.received;
    assert.equal(mail.subject, "Reset your password 1");
    assert.equal(mail.from?.value[0].address, "no-reply@example.com");
    assert.equal((mail.to as { value: { address: string }[] }).value[0].address, "bob@example.com");
    assert.match(mail.text ?? "", /#reset=SECRET-TOKEN-1/);
    assert.match(String(mail.html), /<a href="https:\/\/auth\.example\.com\/#reset=SECRET-TOKEN-1">/);
    await outbox.drain(5000);
    assert.equal(outbox.pending(), 0);
    assert.deepEqual(lines, []);
  });

  it("upgrades to TLS with STARTTLS when the server offers it", async () => {
    const smtp = await startSmtp({ starttls: true });
    servers.push(smtp);
    // The test server's certificate is self-signed: trusted here by nodemailer's option in the URL.
    const { outbox } = outboxFor(`${smtp.url}?tls.rejectUnauthorized=false`);
    outbox.send(message());
    await smtp.waitFor(1);
    assert.equal(smtp.received[0].secure, true);
  });

  it("retries a transient refusal (421) and delivers; the log has the cause, never the link", async () => {
    const smtp = await startSmtp();
    servers.push(smtp);
    const { outbox, lines } = outboxFor(smtp.url);
    smtp.refuse(421, 2);
    outbox.send(message());
    await smtp.waitFor(1);
    await outbox.drain(5000);
    assert.equal(smtp.received.length, 1);
    assert.equal(lines.length, 2, lines.join("\n"));
    for (const l of lines) {
      assert.match(l, /^warn email "Reset your password 1" for user user-1 not sent yet \(attempt \d\): .*421.*retrying in/);
      assert.doesNotMatch(l, /SECRET-TOKEN/);
    }
  });

  it("gives up at once on a permanent refusal (550), logs it, and goes on with the next message", async () => {
    const smtp = await startSmtp();
    servers.push(smtp);
    const { outbox, lines } = outboxFor(smtp.url);
    smtp.refuse(550, 1);
    outbox.send(message(1));
    outbox.send(message(2));
    await smtp.waitFor(1);
    await outbox.drain(5000);
    assert.deepEqual(smtp.received.map((m) => m.subject), ["Reset your password 2"]);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /^error email "Reset your password 1" for user user-1 not sent: .*550/);
  });

  it("keeps a message while the server is away and delivers it when it is back", async () => {
    const smtp = await startSmtp();
    servers.push(smtp);
    await smtp.stop();
    const { outbox, lines } = outboxFor(smtp.url, [300, 300, 300, 300, 300]);
    outbox.send(message());
    // The first attempt meets a closed port; the server comes back before the retries run out.
    await new Promise((r) => setTimeout(r, 400));
    await smtp.start();
    await smtp.waitFor(1);
    assert.ok(lines.length >= 1 && lines.every((l) => /not sent yet .*ECONNECTION|ECONNREFUSED|ESOCKET/.test(l)), lines.join("\n"));
  });

  it("logs a message given up after its retries, with the number of attempts", async () => {
    const { outbox, lines } = outboxFor("smtp://127.0.0.1:1", [5, 5]);
    outbox.send(message());
    await outbox.drain(20_000);
    assert.equal(outbox.pending(), 0);
    assert.match(lines.at(-1) ?? "", /^error email "Reset your password 1" for user user-1 not sent after 3 attempts: /);
  });
});

describe("the log transport (SMTP_URL=log:)", () => {
  it("writes the email, link included, to the log as a warning", async () => {
    const lines: string[] = [];
    const transport: MailTransport = logTransport({ warn: (l) => void lines.push(l) });
    await transport({ ...message(), from: "no-reply@example.com" });
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^email \(SMTP_URL=log:, not sent\) from no-reply@example\.com to bob@example\.com: "Reset your password 1"\n.*#reset=SECRET-TOKEN-1/s,
    );
  });
});
