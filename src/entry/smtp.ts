import nodemailer from "nodemailer";
import type { MailFailure, MailTransport } from "../lib/outbox.ts";

/**
 * The transports the entry files install behind the outbox (see
 * src/lib/outbox.ts): SMTP through nodemailer, which speaks `node:net` and
 * `node:tls` on Deno, Bun and Node alike, or the log for development.
 */

/** nodemailer's errors carry the SMTP reply code and its own error code. */
type SmtpError = Error & { responseCode?: number; code?: string };

/**
 * SMTP_URL's transport: `smtp://[user:password@]host:port` upgrades to TLS
 * with STARTTLS whenever the server offers it (nodemailer's default),
 * `smtps://` is TLS from the first byte. Options of nodemailer can follow as
 * query parameters (`?tls.rejectUnauthorized=false` for a server with a
 * self-signed certificate). A 5xx reply or refused credentials are
 * permanent (trying again cannot help); anything else (no connection, a 4xx
 * such as greylisting) is retried by the outbox.
 *
 * @example const { transport, close } = smtpTransport("smtp://mail.example.com:587");
 */
export function smtpTransport(url: string): { transport: MailTransport; close(): void } {
  const mailer = nodemailer.createTransport({
    url,
    // A mail server that stops answering must not hold a message forever.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  const transport: MailTransport = async ({ from, to, subject, text, html }) => {
    try {
      await mailer.sendMail({ from, to, subject, text, html });
    } catch (e) {
      const err = e as SmtpError;
      const failure: MailFailure = new Error(err.responseCode ? `${err.message}` : `${err.code ?? "error"}: ${err.message}`);
      failure.permanent = (err.responseCode !== undefined && err.responseCode >= 500) || err.code === "EAUTH";
      throw failure;
    }
  };
  return { transport, close: () => mailer.close() };
}

/**
 * `SMTP_URL=log:`: each email is written to the log instead of being sent,
 * links included, so that a developer can follow them. Never for real
 * users: anyone who reads the log could use the links (the startup line
 * warns).
 */
export function logTransport(log: { warn(line: string): void }): MailTransport {
  return ({ from, to, subject, text }) => {
    log.warn(`email (SMTP_URL=log:, not sent) from ${from} to ${to}: ${JSON.stringify(subject)}\n${text}`);
    return Promise.resolve();
  };
}
