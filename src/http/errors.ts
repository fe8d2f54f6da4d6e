import { counted } from "../lib/progress.ts";
import { InvalidInputError, NotFoundError, StorageUnavailableError, UserGoneError } from "../domain/errors.ts";
import { ThrottledError } from "../auth/throttle.ts";
import { MalformedCredentialsError } from "../auth/basic.ts";
import { SecondFactorUnavailableError } from "../auth/second-factor.ts";
import { BadTokenError } from "../auth/self-service.ts";

type StackLimit = { stackTraceLimit?: number };
let savedStackLimit: number | undefined;
/** Turns stack capture off for the Error about to be built (restored right after its `super`). */
function withoutStack(message: string): string {
  savedStackLimit = (Error as StackLimit).stackTraceLimit;
  (Error as StackLimit).stackTraceLimit = 0;
  return message;
}

/**
 * An answer decided by the HTTP layer itself (401, 403, 405, 413...), with its headers.
 * It carries no stack: it is an answer, never logged as a failure, and
 * capturing a stack was the largest cost of a 401 or 403 (a tenth of the
 * CPU of an unauthenticated request on Node), the requests a hostile client sends most.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(withoutStack(message));
    (Error as StackLimit).stackTraceLimit = savedStackLimit;
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/** 429 for a throttled password check (login, Basic auth, password change). */
function tooManyAttempts(retryAfter: number): HttpError {
  return new HttpError(429, `Too many failed logins; retry in ${counted(retryAfter, "second")}`, { "Retry-After": String(retryAfter) });
}

/**
 * The one mapping of failures to answers (used by the app's `onError`):
 * the domain's errors keep their own words, this only adds the status.
 * Null for anything else, which is a bug: a logged 500.
 */
export function toHttpError(e: unknown): HttpError | null {
  if (e instanceof HttpError) return e;
  if (e instanceof InvalidInputError) return new HttpError(400, e.message);
  if (e instanceof NotFoundError) return new HttpError(404, "Not found");
  if (e instanceof StorageUnavailableError) return new HttpError(503, e.message);
  if (e instanceof ThrottledError) return tooManyAttempts(e.retryAfter);
  if (e instanceof UserGoneError) return new HttpError(401, "invalid email or password");
  if (e instanceof BadTokenError) return new HttpError(400, e.message);
  if (e instanceof MalformedCredentialsError) return new HttpError(400, e.message);
  if (e instanceof SecondFactorUnavailableError) return new HttpError(503, e.message);
  return null;
}
