import type { Logger } from "../lib/log.ts";
import type { MailMessage, Outbox } from "../lib/outbox.ts";

/**
 * The app's side of email: the links, and the work of a flow that is done
 * after its answer. A password reset request answers at once, the same way
 * whether or not the email has an account; what only an existing account
 * costs (storing the token, counting the account's emails, queueing the
 * message) runs here, one job at a time, so that its time never shows in
 * the answer. A stopping server waits for the jobs (`drain`).
 */
export type MailerOptions = {
  /** The outbox (src/lib/outbox.ts), or null when SMTP_URL is unset. */
  outbox: Outbox | null;
  /** PUBLIC_URL: the origin of every link. */
  publicUrl: string | null;
  log: Logger;
};

/** A job: resolves to the messages to send (none: nothing to send). */
export type MailJob = () => Promise<MailMessage[]>;

/**
 * The mailer of one app.
 *
 * @example const mailer = createMailer({ outbox, publicUrl: "https://auth.example.com", log });
 *          mailer.later("password reset email", async () => [message]);
 */
export function createMailer({ outbox, publicUrl, log }: MailerOptions) {
  let chain: Promise<void> = Promise.resolve();
  let pending = 0;
  return {
    /** Whether email is configured (SMTP_URL); routes that need it answer 503 otherwise. */
    configured: outbox !== null && publicUrl !== null,
    /** The link a token is used through: its token in the fragment, which no server or log sees. */
    link: (kind: "reset" | "verify", token: string) => `${publicUrl}/#${kind}=${token}`,
    /** Runs `job` after the jobs before it, then queues its messages. */
    later(what: string, job: MailJob): void {
      pending++;
      // After a timer, not a microtask: the answer is written first, and none of the job's CPU shows in its time.
      chain = chain.then(() => new Promise((wake) => setTimeout(wake, 0))).then(job).then(
        (messages) => messages.forEach((m) => outbox?.send(m)),
        // The cause (a storage failure), never a token: the job's messages are not built yet.
        (e) => log.error(`${what} failed`, e),
      ).finally(() => void pending--);
    },
    /** Jobs waiting or running, plus messages not yet delivered. */
    pending: () => pending + (outbox?.pending() ?? 0),
    /** Resolves once every job ran and the outbox is empty, or after `timeoutMs`. */
    async drain(timeoutMs: number): Promise<void> {
      const until = Date.now() + timeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([chain, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      await outbox?.drain(Math.max(0, until - Date.now()));
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
