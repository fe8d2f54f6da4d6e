/**
 * Failures the rules of the service know about. They say what went wrong
 * in the API's words and nothing about HTTP: the app's one `onError` maps
 * each kind to a status (and the CLI prints them as they are). Anything
 * else thrown is a bug, logged and answered 500.
 */

/** Input the rules refuse: `Can't <verb> User: <reason>` (sign-up, update, a password change). */
export class InvalidInputError extends Error {
  readonly verb: string;
  readonly reason: string;
  constructor(verb: "create" | "update", reason: string) {
    super(`Can't ${verb} User: ${reason}`);
    this.name = "InvalidInputError";
    this.verb = verb;
    this.reason = reason;
  }
}

/** A second user with an email that already exists (compared case-insensitively). */
export class DuplicateEmailError extends InvalidInputError {
  constructor() {
    super("create", "email already exists");
    this.name = "DuplicateEmailError";
  }
}

/** The record asked for does not exist (or no longer does). */
export class NotFoundError extends Error {
  constructor(what = "Not found") {
    super(what);
    this.name = "NotFoundError";
  }
}

/** A session was asked for a user that no longer exists (deleted while logging in). */
export class UserGoneError extends Error {
  constructor(userId: string) {
    super(`User ${userId} no longer exists`);
    this.name = "UserGoneError";
  }
}

/**
 * The storage could not complete a write or a read (disk full, KV or the
 * database down). Nothing acknowledged is lost; the caller may retry.
 * `detail` says what failed, for the log.
 */
export class StorageUnavailableError extends Error {
  readonly detail: string;
  constructor(detail: string, options?: { cause?: unknown }) {
    super("Storage unavailable, try again later");
    this.name = "StorageUnavailableError";
    this.detail = detail;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Startup cannot go on (bad config, unreadable data file, locked folder): one clear line, exit non-zero. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}
