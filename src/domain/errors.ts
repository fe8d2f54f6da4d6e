/**
 * Domain failures, each carrying the HTTP status and the message the API
 * answers with. The one `onError` of the app maps them; anything else is a
 * bug and becomes a logged 500.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/** A second user with an email that already exists (compared case-insensitively). */
export class DuplicateEmailError extends HttpError {
  constructor() {
    super(400, "Can't create User: email already exists");
    this.name = "DuplicateEmailError";
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
 * The storage could not complete a write or a read (disk full, KV down).
 * Answered as 503 so clients retry; nothing acknowledged is lost. `detail`
 * goes to the log only.
 */
export class StorageUnavailableError extends HttpError {
  readonly detail: string;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(503, "Storage unavailable, try again later");
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
