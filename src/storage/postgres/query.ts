import type postgres from "postgres";
import { DuplicateEmailError, InvalidInputError, StorageUnavailableError, UserGoneError } from "../../domain/errors.ts";

/**
 * Running queries so that a PostgreSQL that is down, restarting or frozen
 * costs a request a bounded wait and a `StorageUnavailableError`, never a
 * hang or a 500; and one line saying what went wrong, for the log.
 */

/** A postgres.js pool (or a transaction of one). */
export type Sql = postgres.Sql;
/** The same, inside a transaction. */
export type Tx = postgres.TransactionSql;

/** Errors a method of the driver throws as they are: answers, not failures of the storage. */
const ANSWERS = [DuplicateEmailError, UserGoneError, InvalidInputError];

const HINTS: Record<string, string> = {
  ECONNREFUSED: "nothing listens at that host and port",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name does not resolve",
  CONNECT_TIMEOUT: "no answer to the connection in time",
  CONNECTION_CLOSED: "the server closed the connection",
  "28000": "the role does not exist or may not connect",
  "57P01": "the server is shutting down",
  "57P03": "the server is starting up",
  "53300": "too many connections to the server",
};

/** One line about a failure of postgres.js or the server: the SQLSTATE or error code, the message, a hint. */
export function describeDbError(e: unknown): string {
  if (!e || typeof e !== "object") return String(e);
  const err = e as { code?: string; message?: string; errors?: unknown[] };
  // Several addresses tried (localhost: ::1 and 127.0.0.1): the first says it.
  if (!err.message && Array.isArray(err.errors) && err.errors.length) return describeDbError(err.errors[0]);
  const message = String(err.message ?? e).split("\n")[0];
  const code = typeof err.code === "string" ? err.code : "";
  const hint = HINTS[code] ? ` (${HINTS[code]})` : "";
  return code && !message.includes(code) ? `${code}: ${message}${hint}` : `${message}${hint}`;
}

/** The SQLSTATE of a server error, or "" for anything else. */
export const sqlState = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : "";
};

/** The constraint a server error names, or "". */
export const constraintOf = (e: unknown): string => String((e as { constraint_name?: unknown } | null)?.constraint_name ?? "");

/** Transaction conflicts worth running the transaction again: serialization failure, deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);

const DEADLINE = Symbol("deadline");

/** Per-call choices of `run`. */
export type RunOptions = {
  /** Instead of the runner's default. */
  deadlineMs?: number;
  /** Turns a server error that is an answer (a unique violation: a duplicate email) into the error to throw. */
  answer?: (e: unknown) => Error | undefined;
  /** Server errors worth running `work` again, besides transaction conflicts. */
  retry?: (e: unknown) => boolean;
};

/**
 * Runs `work` (a query or a transaction) with a deadline and turns every
 * failure but the driver's answers into `StorageUnavailableError`, whose
 * detail names `what` and the cause. A query still waiting for a
 * connection at the deadline is cancelled, so it never runs late; a query
 * or transaction already sent cannot be recalled, and one that the server
 * finishes after the deadline (a frozen server thawing) may still commit: a
 * 503 means "not known to be done", while a 2xx always means done.
 * Transaction conflicts (serialization failure, deadlock) are retried.
 */
export function createRunner(defaultDeadlineMs: number) {
  return async function run<T>(what: string, work: () => Promise<T>, o: RunOptions = {}): Promise<T> {
    const ms = o.deadlineMs ?? defaultDeadlineMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<typeof DEADLINE>((resolve) => (timer = setTimeout(() => resolve(DEADLINE), ms)));
    try {
      for (let attempt = 1;; attempt++) {
        const pending = work();
        try {
          const r = await Promise.race([pending, deadline]);
          if (r !== DEADLINE) return r;
          // A queued query leaves the queue; a running one gets a cancel
          // request, on a connection of its own that may fail in turn.
          const cancelled = (pending as { cancel?: () => unknown }).cancel?.();
          if (cancelled instanceof Promise) cancelled.catch(() => {});
          pending.catch(() => {});
          throw new StorageUnavailableError(`PostgreSQL did not answer within ${ms} ms (${what})`);
        } catch (e) {
          const answer = o.answer?.(e);
          if (answer) throw answer;
          if (attempt < 5 && (RETRYABLE.has(sqlState(e)) || o.retry?.(e))) continue;
          throw e;
        }
      }
    } catch (e) {
      if (e instanceof StorageUnavailableError || ANSWERS.some((k) => e instanceof k)) throw e;
      throw new StorageUnavailableError(`PostgreSQL: cannot ${what}: ${describeDbError(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The function `createRunner` returns. */
export type Run = ReturnType<typeof createRunner>;

/** PostgreSQL text cannot hold NUL: refuse such a value with a clear reason instead of a storage error. */
export function checkText(verb: "create" | "update", values: unknown[], what?: string): void {
  if (values.some((v) => typeof v === "string" && v.includes("\0"))) {
    throw new InvalidInputError(verb, `${what ? `${what}: ` : ""}text with a NUL character cannot be stored`);
  }
}
