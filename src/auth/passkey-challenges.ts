import type { CounterStore } from "../storage/driver.ts";

/**
 * The WebAuthn challenges the service handed out and has not seen back yet.
 *
 * A challenge proves that an answer was signed for this very ceremony: it is
 * single use (taken out of the store in the same atomic step that reads it,
 * so that two requests replaying one answer cannot both pass) and lives
 * `ttlMs` (5 minutes). They live in the storage's `CounterStore` (Deno KV,
 * PostgreSQL) so that the server that checks an answer need not be the one
 * that issued its challenge; with a storage of one process (memory, file)
 * the app keeps them in its own memory, as it does the login throttle's
 * counters.
 *
 * Issuing is limited per client (`perMinute` a minute): every challenge is
 * a record, and a public route must not let one client fill the store.
 */

/** What a challenge was issued for: registering a passkey (by a signed-in user), or logging in with one (anyone). */
export type ChallengePurpose = "register" | "login";

/** What is kept of an issued challenge. */
type ChallengeRecord = { purpose: ChallengePurpose; user_id: string | null; expires: number };
/** Challenges issued to one client in the current minute. */
type RateRecord = { count: number; since: number };

export type PasskeyChallengesOptions = {
  store: CounterStore;
  now: () => number;
  ttlMs?: number;
  perMinute?: number;
};

const MINUTE = 60_000;
// What the library issues is 32 random bytes in base64url (43 characters); anything far from it is not ours.
const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The challenge store. See the module comment.
 *
 * @example const challenges = createPasskeyChallenges({ store: createMemoryCounters(), now: Date.now });
 *          await challenges.issue("client", options.challenge, "login", null);
 *          await challenges.take(options.challenge, "login"); // { user_id: null }, and gone
 */
export function createPasskeyChallenges(o: PasskeyChallengesOptions) {
  const ttl = o.ttlMs ?? 5 * MINUTE;
  const perMinute = o.perMinute ?? 30;
  return {
    /**
     * Records `challenge`, issued to `client` for `purpose` (and, to
     * register, for the user `userId`). Resolves to 0, or to the seconds
     * the client must wait when it asked for too many.
     */
    issue(client: string, challenge: string, purpose: ChallengePurpose, userId: string | null): Promise<number> {
      return o.store.update([["war", client], ["wa", challenge]], ([rate]) => {
        const now = o.now();
        const r = rate as RateRecord | null;
        const current = r && typeof r.count === "number" && now - r.since < MINUTE ? r : { count: 0, since: now };
        if (current.count >= perMinute) {
          return { records: [current, null], result: Math.max(1, Math.ceil((current.since + MINUTE - now) / 1000)) };
        }
        const record: ChallengeRecord = { purpose, user_id: userId, expires: now + ttl };
        return { records: [{ count: current.count + 1, since: current.since }, record], result: 0 };
      }, ttl);
    },
    /**
     * Takes a challenge out of the store: what it was issued for, or null
     * when it was never issued, was already used, has expired, or was issued
     * for another purpose. Either way it is gone afterwards.
     */
    async take(challenge: string, purpose: ChallengePurpose): Promise<{ user_id: string | null } | null> {
      if (!CHALLENGE_SHAPE.test(challenge)) return null;
      const found = await o.store.update([["wa", challenge]], ([r]) => ({ records: [null], result: r as ChallengeRecord | null }), ttl);
      // A store of this process's memory keeps records past their time: the expiry is checked here.
      if (!found || found.purpose !== purpose || !(found.expires > o.now())) return null;
      return { user_id: found.user_id };
    },
  };
}

export type PasskeyChallenges = ReturnType<typeof createPasskeyChallenges>;
