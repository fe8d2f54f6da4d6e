import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { type ParsedMail, simpleParser } from "mailparser";

/**
 * A real SMTP server in the test process (the `smtp-server` package), which
 * parses every message it accepts (`mailparser`). `refuse` makes the next
 * messages fail with a reply of the test's choice; `stop` and `start` take
 * the server away and bring it back on the same port.
 */
export type TestSmtp = {
  url: string;
  port: number;
  received: (ParsedMail & { secure: boolean })[];
  /** The next `times` messages are answered `code message` (421: transient, 550: permanent). */
  refuse(code: number, times: number): void;
  /** Resolves when `n` messages have arrived, or rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
};

export async function startSmtp({ starttls = false, port = 0 }: { starttls?: boolean; port?: number } = {}): Promise<TestSmtp> {
  const received: (ParsedMail & { secure: boolean })[] = [];
  let refusals: { code: number; times: number } | null = null;
  const waiters: { n: number; wake: () => void }[] = [];
  const make = () =>
    new SMTPServer({
      authOptional: true,
      // smtp-server's own self-signed certificate serves STARTTLS when it is on.
      disabledCommands: starttls ? [] : ["STARTTLS"],
      logger: false,
      onData(stream, session: SMTPServerSession, done) {
        if (refusals && refusals.times > 0) {
          refusals.times--;
          stream.resume();
          stream.on("end", () => done(Object.assign(new Error("refused by the test"), { responseCode: refusals!.code })));
          return;
        }
        simpleParser(stream).then((mail) => {
          received.push(Object.assign(mail, { secure: session.secure }));
          for (const w of waiters.filter((w) => received.length >= w.n)) w.wake();
          done();
        }, done);
      },
    });
  let server = make();
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, "127.0.0.1", () => resolve((server.server.address() as { port: number }).port));
    });
  const bound = await listen(port);
  return {
    url: `smtp://127.0.0.1:${bound}`,
    port: bound,
    received,
    refuse: (code, times) => void (refusals = { code, times }),
    waitFor(n, timeoutMs = 20_000) {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${received.length} of ${n} emails arrived within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, wake: () => (clearTimeout(timer), resolve()) });
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async start() {
      server = make();
      await listen(bound);
    },
  };
}
