/**
 * Outgoing email, as a port: the core composes messages and hands them to
 * an outbox; the entry file installs the transport that really speaks SMTP
 * (src/entry/smtp.ts), because SMTP needs `node:net` / `node:tls`, which the
 * runtime-neutral core does not import.
 *
 * Sending never holds up the request that asked for it: `send` only queues.
 * The outbox delivers one message at a time, retries a transient failure
 * (the server unreachable, a 4xx reply) a few times with growing waits, and
 * logs a permanent one (a 5xx reply) with its cause. The log names the
 * message's subject and tag (a user id), never its body: bodies hold
 * single-use links.
 */

/** One email, in the user's terms: a plain text part and a simple HTML part. */
export type MailMessage = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Who it concerns, for the log (a user id); never the address or the body. */
  tag?: string;
};

/** Delivers one message or throws; an error with `permanent: true` is not retried. */
export type MailTransport = (message: MailMessage & { from: string }) => Promise<void>;

/** What the log needs of a failure: a short cause, and whether trying again could help. */
export type MailFailure = Error & { permanent?: boolean };

export type OutboxOptions = {
  transport: MailTransport;
  /** MAIL_FROM. */
  from: string;
  /** Receives one line per failure (warn) and per message given up (error). */
  log: { warn(line: string): void; error(line: string): void };
  /** Waits before each retry; its length is the number of retries. */
  retryDelaysMs?: readonly number[];
  /** Waits `ms` (tests pass a shorter one); default: a timer. */
  sleep?: (ms: number) => Promise<void>;
};

export type Outbox = {
  /** Queues a message; returns at once. */
  send(message: MailMessage): void;
  /** Messages queued or being delivered. */
  pending(): number;
  /** Resolves when the queue is empty, or after `timeoutMs` (a stopping server waits this long at most). */
  drain(timeoutMs: number): Promise<void>;
};

/** Retries after 2 s, 10 s, 1 min and 5 min: a mail server's restart or a greylisting 4xx passes within them. */
export const DEFAULT_RETRY_DELAYS_MS = [2_000, 10_000, 60_000, 300_000] as const;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The outbox of one process.
 *
 * @example const outbox = createOutbox({ transport, from: "no-reply@example.com", log });
 *          outbox.send({ to: "bob@example.com", subject: "Reset your password", text, html, tag: user.id });
 */
export function createOutbox(
  { transport, from, log, retryDelaysMs = DEFAULT_RETRY_DELAYS_MS, sleep = defaultSleep }: OutboxOptions,
): Outbox {
  const queue: MailMessage[] = [];
  let running = false;
  let inFlight = 0;
  const idle: (() => void)[] = [];

  const describe = (m: MailMessage) => `email ${JSON.stringify(m.subject)}${m.tag ? ` for user ${m.tag}` : ""}`;
  const causeOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").slice(0, 300);

  async function deliver(m: MailMessage): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        await transport({ ...m, from });
        return;
      } catch (e) {
        const permanent = (e as MailFailure)?.permanent === true;
        if (permanent || attempt >= retryDelaysMs.length) {
          log.error(`${describe(m)} not sent${permanent ? "" : ` after ${attempt + 1} attempts`}: ${causeOf(e)}`);
          return;
        }
        const wait = retryDelaysMs[attempt];
        log.warn(`${describe(m)} not sent yet (attempt ${attempt + 1}): ${causeOf(e)}; retrying in ${Math.round(wait / 1000)} s`);
        await sleep(wait);
      }
    }
  }

  async function run(): Promise<void> {
    running = true;
    while (queue.length) {
      const m = queue.shift()!;
      inFlight = 1;
      try {
        await deliver(m);
      } finally {
        inFlight = 0;
      }
    }
    running = false;
    idle.splice(0).forEach((wake) => wake());
  }

  return {
    send(message) {
      queue.push(message);
      if (!running) void run();
    },
    pending: () => queue.length + inFlight,
    drain(timeoutMs) {
      if (!running) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
