import type { UserRecord } from "../domain/types.ts";
import type { UsersRepo } from "../repos/users.ts";
import { parseBasicAuth } from "./basic.ts";
import type { CredentialCache } from "./credential-cache.ts";
import { dummyVerify, hashPassword, verifyPassword } from "./password.ts";
import type { SessionManager } from "./sessions.ts";
import type { LoginThrottle } from "./throttle.ts";

/** What a request presents: the Authorization header, the session cookie's value, and who sends it (for throttling). */
export type Presented = { authorization: string | null; sessionToken: string | null; client: () => string };

/** A password check refused by the throttle; the HTTP layer answers 429 with Retry-After. */
export class ThrottledError extends Error {
  readonly retryAfter: number;
  constructor(retryAfter: number) {
    super(`Throttled for ${retryAfter} s`);
    this.name = "ThrottledError";
    this.retryAfter = retryAfter;
  }
}

/** Finds the user a request authenticates as, or null ("not authenticated" is not an error). */
export type Strategy = (p: Presented) => Promise<UserRecord | null>;

/**
 * Checks an email and password: the first user with that email (the
 * original's rule for legacy duplicates), one PBKDF2 whether or not the
 * email exists, and a re-hash of legacy or weaker hashes on success.
 */
export async function checkPassword(users: UsersRepo, email: string, password: string, iterations?: number): Promise<UserRecord | null> {
  const user = await users.findByEmail(email);
  if (!user) {
    // Same cost as a wrong password: response time must not reveal which
    // emails have accounts.
    await dummyVerify(password, iterations);
    return null;
  }
  const { ok, needsRehash } = await verifyPassword(password, user._password, iterations);
  if (!ok) return null;
  if (needsRehash) return users.setPasswordHash(user, await hashPassword(password, iterations));
  return user;
}

/** `basic_auth`: `Authorization: Basic base64(email:password)`; a cookie alone authenticates nothing. */
export function createBasicStrategy(users: UsersRepo, cache: CredentialCache | null, throttle: LoginThrottle, iterations?: number): Strategy {
  return async function basicStrategy({ authorization, client }) {
    if (!authorization) return null;
    // Keyed by the header as sent: a repeat request skips even the base64
    // and UTF-8 decoding. (Another spelling of the same credentials is just
    // a miss, verified and cached in turn.)
    const hit = cache?.lookup(authorization);
    if (hit) {
      const user = await users.get(hit.id);
      if (user && hit.check(user)) return user;
    }
    const creds = parseBasicAuth(authorization);
    if (!creds) return null;
    // Every Basic request is a password guess until it succeeds: throttled like a login.
    const attempt = await throttle.attempt(client(), creds.email);
    if (!attempt.ok) throw new ThrottledError(attempt.retryAfter);
    try {
      const user = await checkPassword(users, creds.email, creds.password, iterations);
      if (user) await attempt.succeeded();
      if (user && user._password !== null) cache?.remember(authorization, user);
      return user;
    } finally {
      attempt.done();
    }
  };
}

/** `session_*`: the session cookie; the Authorization header is ignored. */
export function createSessionStrategy(users: UsersRepo, sessions: SessionManager): Strategy {
  return async function sessionStrategy({ sessionToken }) {
    if (!sessionToken) return null;
    const found = await sessions.resolve(sessionToken);
    if (!found) return null;
    return found.user !== undefined ? found.user : users.get(found.userId);
  };
}
