import { after } from "node:test";
import { smtpTransport } from "../../src/entry/smtp.ts";
import { createOutbox } from "../../src/lib/outbox.ts";
import { startSmtp, type TestSmtp } from "./smtp.ts";

/**
 * An outbox delivering to `url` through the service's own SMTP transport
 * (closed after the test file), and the lines it logs. Retries wait
 * milliseconds here instead of seconds.
 */
export function outboxFor(url: string, retryDelaysMs: number[] = [20, 20, 20]) {
  const lines: string[] = [];
  const { transport, close } = smtpTransport(url);
  after(close);
  const log = { warn: (l: string) => void lines.push(`warn ${l}`), error: (l: string) => void lines.push(`error ${l}`) };
  return { outbox: createOutbox({ transport, from: "Accounts <no-reply@example.com>", log, retryDelaysMs }), lines };
}

/** A real SMTP server in the test process (stopped after the test file) and an outbox that delivers to it. */
export async function mailSetup(retryDelaysMs?: number[]) {
  const smtp = await startSmtp();
  after(() => smtp.stop().catch(() => {}));
  return { smtp, ...outboxFor(smtp.url, retryDelaysMs) };
}

/** The token of the `kind` link (`#reset=` or `#verify=`) in the `index`th email received. */
export function tokenIn(smtp: TestSmtp, index: number, kind: "reset" | "verify"): string {
  const mail = smtp.received[index];
  const found = new RegExp(`/#${kind}=([A-Za-z0-9._-]+)`).exec(mail?.text ?? "");
  if (!found) throw new Error(`no ${kind} link in email ${index}: ${mail?.subject}`);
  return found[1];
}

/** The addresses an email went to. */
export const recipients = (mail: TestSmtp["received"][number]): string[] =>
  [mail.to].flat().flatMap((a) => a?.value.map((v) => v.address ?? "") ?? []);
