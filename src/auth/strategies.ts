import { hasSecondFactor } from "../domain/accounts.ts";
import type { UserRecord } from "../domain/records.ts";
import { SecondFactorRequiredError } from "./second-factor.ts";
import type { UsersRepo } from "../repos/users.ts";
import { MalformedCredentialsError, parseBasicAuth } from "./basic.ts";
import type { CredentialCache } from "./credential-cache.ts";
import type { Resolved, SessionManager } from "./sessions.ts";
import { type LoginThrottle, ThrottledError } from "./throttle.ts";

/** What a request presents: the Authorization header, the session cookie's value, and who sends it (for throttling). */
export type Presented = { authorization: string | null; sessionToken: string | null; client: () => string };

/** Who a request authenticates as, and with which session (null under Basic auth). */
export type Authenticated = { user: UserRecord; session: Resolved | null };

/** Finds who a request authenticates as, or null ("not authenticated" is not an error). */
export type Strategy = (p: Presented) => Promise<Authenticated | null>;

/**
 * Runs a password `check` (for `email`'s account) under the throttle:
 * refused at once (ThrottledError) while the client or the account must
 * wait, counted before the hash and refunded on success (see throttle.ts).
 * The one way every route checks a password (login, Basic auth, password
 * change). `trustedDevice`: the client proved an earlier login
 * to this account (see known-device.ts).
 */
export async function throttled(
  throttle: LoginThrottle,
  client: string,
  email: string,
  check: () => Promise<UserRecord | null>,
  trustedDevice = false,
): Promise<UserRecord | null> {
  const attempt = await throttle.attempt(client, email, trustedDevice);
  if (!attempt.ok) throw new ThrottledError(attempt.retryAfter);
  try {
    const user = await check();
    if (user) await attempt.succeeded();
    return user;
  } finally {
    attempt.done();
  }
}

/**
 * `basic_auth`: `Authorization: Basic base64(email:password)`; a cookie alone
 * authenticates nothing. A user with a second factor is refused
 * (SecondFactorRequiredError: Basic carries no code); the password check of
 * such a user keeps its throttle count, so Basic is no way around the
 * code's throttle. The account record is read while the password hashes.
 * `unverified`: a user the right password does not let in (an unverified
 * address under EMAIL_VERIFICATION=required), as a login would refuse it.
 */
export function createBasicStrategy(
  users: UsersRepo,
  cache: CredentialCache | null,
  throttle: LoginThrottle,
  unverified?: (user: UserRecord) => Promise<boolean>,
): Strategy {
  const admit = async (user: UserRecord) => (unverified && (await unverified(user)) ? null : { user, session: null });
  return async function basicStrategy({ authorization, client }) {
    if (!authorization) return null;
    // Keyed by the header as sent: a repeat request skips even the base64
    // and UTF-8 decoding. (Another spelling of the same credentials is just
    // a miss, verified and cached in turn.)
    const hit = cache?.lookup(authorization);
    if (hit) {
      const user = await users.get(hit.id);
      if (user && hit.check(user)) {
        if (hit.secondFactor) throw new SecondFactorRequiredError(user.id);
        return await admit(user);
      }
    }
    const creds = parseBasicAuth(authorization);
    if (!creds) return null;
    if (creds.email.includes("\0") || creds.password.includes("\0")) throw new MalformedCredentialsError();
    // Every Basic request is a password guess until it succeeds: throttled like a login.
    let refused: UserRecord | null = null;
    const user = await throttled(throttle, client(), creds.email, async () => {
      const { user, account } = await users.checkWithAccount(creds.email, creds.password);
      if (!user || !hasSecondFactor(account)) return user;
      refused = user;
      return null;
    });
    if (refused) {
      cache?.remember(authorization, refused, true);
      throw new SecondFactorRequiredError((refused as UserRecord).id);
    }
    if (!user) return null;
    if (user._password !== null) cache?.remember(authorization, user);
    return await admit(user);
  };
}

/** `session_*`: the session cookie; the Authorization header is ignored. */
export function createSessionStrategy(users: UsersRepo, sessions: SessionManager): Strategy {
  return async function sessionStrategy({ sessionToken }) {
    if (!sessionToken) return null;
    const session = await sessions.resolve(sessionToken);
    if (!session) return null;
    const user = session.user !== undefined ? session.user : await users.get(session.userId);
    return user ? { user, session } : null;
  };
}
