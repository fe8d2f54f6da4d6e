import { BoundedMap } from "../lib/bounded-map.ts";
import type { CounterStore } from "../storage/driver.ts";

/**
 * Throttling of password checks (login, Basic auth): slows down guessing
 * without letting an attacker lock a real user out.
 *
 * Three counters, checked before a password is hashed:
 * - per client and account: `perAccountFree` failures, then each further
 *   attempt waits twice as long as the last, up to `maxWaitMs`;
 * - per client, any account (password spraying): `perClientFree`, then the
 *   same doubling;
 * - per account from all clients: at most `accountPerHour` failed checks in
 *   any hour (NIST SP 800-63B 5.2.2), so that guessing spread over many
 *   addresses stays slow too.
 *
 * An attempt is counted as a failure *before* its hash is computed and
 * refunded if it succeeds, so attempts in flight together are throttled
 * exactly like attempts one after another (checking first and counting
 * after let 300 parallel guesses through). A client may also have only
 * `maxInFlight` checks running at once: one client's burst cannot fill the
 * hashing queue that every other login waits in.
 *
 * The hourly limit must not lock the owner out (NIST SP 800-63B, OWASP): a
 * browser proves an earlier login with its known-device cookie; any client
 * (curl and scripts under Basic auth keep no cookies) is also let past it
 * from an address that checked this account's password successfully before
 * (the newest `knownAddresses`, for `knownAddressDays`). Such a client is
 * still throttled on its own, client and account counters.
 *
 * The counters live in a `CounterStore`: this process's memory, or the
 * storage shared by every process (Deno KV, PostgreSQL), so that several
 * servers behind a proxy count together.
 */

/** A password check refused by the throttle; the HTTP layer answers 429 with Retry-After. */
export class ThrottledError extends Error {
  readonly retryAfter: number;
  constructor(retryAfter: number) {
    super(`Throttled for ${retryAfter} s`);
    this.name = "ThrottledError";
    this.retryAfter = retryAfter;
  }
}

/** One counter: failures since it was last cleared, and until when attempts wait. */
export type Counter = { failures: number; blockedUntil: number; last: number };
/** Failed checks of one account in the last hour (ms timestamps, oldest first). */
export type AccountLog = { times: number[] };
/** Addresses that checked an account's password successfully, newest first, with when (ms). */
export type KnownAddresses = { known: { client: string; at: number }[] };
export type ThrottleRecord = Counter | AccountLog;

export type ThrottleOptions = {
  now: () => number;
  /** Counters shared by every process (the storage's); default: this process's memory. */
  store?: CounterStore;
  perAccountFree?: number;
  perClientFree?: number;
  accountPerHour?: number;
  maxWaitMs?: number;
  /** A client+account counter without failures for this long starts over. */
  windowMs?: number;
  maxInFlight?: number;
  /** How many addresses per account stay known (newest first). */
  knownAddresses?: number;
  knownAddressDays?: number;
};

/** The outcome of asking to check a password. */
export type Attempt =
  | {
    ok: true; /** The check succeeded: refund the failure counted in advance and clear the client's record. */
    succeeded(): Promise<void>; /** Ends the in-flight slot either way. */
    done(): void;
  }
  | { ok: false; retryAfter: number };

const HOUR = 3_600_000;

/** An account's name in the counters: one for every spelling that finds it (any case, NFC or NFD). */
const accountOf = (email: string) => email.normalize("NFC").toLowerCase();

/** Counters in a Map of this process, bounded (least recently written out first; records stay valid an hour at most anyway). */
export function createMemoryCounters(maxEntries = 100_000): CounterStore {
  const records = new BoundedMap<string, unknown>(maxEntries);
  const name = (parts: string[]) => parts.join("\u0000");
  return {
    clear(prefix) {
      const exact = name(prefix);
      let n = 0;
      for (const k of records.keys()) if ((k === exact || k.startsWith(exact + "\u0000")) && records.delete(k)) n++;
      return Promise.resolve(n);
    },
    update(parts, change) {
      const keys = parts.map(name);
      // Synchronous from read to write: no other update can interleave.
      const { records: next, result } = change(keys.map((k) => records.get(k) ?? null));
      keys.forEach((k, i) => {
        const r = next[i];
        if (r) records.set(k, r);
        else records.delete(k);
      });
      return Promise.resolve(result);
    },
  };
}

/** The login throttle. See the module comment. */
export function createLoginThrottle(o: ThrottleOptions) {
  const store = o.store ?? createMemoryCounters();
  const perAccountFree = o.perAccountFree ?? 20;
  const perClientFree = o.perClientFree ?? 200;
  const accountPerHour = o.accountPerHour ?? 100;
  const maxWait = o.maxWaitMs ?? 15 * 60_000;
  const windowMs = o.windowMs ?? HOUR;
  const maxInFlight = o.maxInFlight ?? 4;
  const inFlight = new Map<string, number>();
  const knownMax = o.knownAddresses ?? 10;
  const knownTtl = (o.knownAddressDays ?? 30) * 86_400_000;
  const knownKey = (email: string) => [["k", accountOf(email)]];
  const knownList = (r: unknown, now: number) =>
    (r && typeof r === "object" && Array.isArray((r as KnownAddresses).known) ? (r as KnownAddresses).known : [])
      .filter((e) => now - e.at < knownTtl);
  // Read only when the hourly limit refuses (an attack is on): no extra round trip otherwise.
  const isKnown = (client: string, email: string) =>
    store.update(knownKey(email), ([r]) => ({ records: [r], result: knownList(r, o.now()).some((e) => e.client === client) }), knownTtl);
  const rememberAddress = (client: string, email: string) =>
    store.update(knownKey(email), ([r]) => {
      const now = o.now();
      const known = [{ client, at: now }, ...knownList(r, now).filter((e) => e.client !== client)].slice(0, knownMax);
      return { records: [{ known }], result: undefined };
    }, knownTtl);

  // Keys start with the account where they concern one, so that unlocking an account is one prefix.
  const keysOf = (client: string, email: string) => {
    const account = accountOf(email);
    return [["ca", account, client], ["c", client], ["a", account]];
  };
  const counter = (r: ThrottleRecord | null, now: number): Counter =>
    r && "failures" in r && now - r.last <= windowMs ? { ...r } : { failures: 0, blockedUntil: 0, last: now };
  const fail = (c: Counter, free: number, now: number): Counter => {
    const failures = c.failures + 1;
    // The attempt that reaches the allowance still runs; the next one waits 1 s, then 2, 4...
    const blockedUntil = failures >= free ? now + Math.min(maxWait, 1000 * 2 ** Math.min(20, failures - free)) : c.blockedUntil;
    return { failures, blockedUntil, last: now };
  };
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

  return {
    /**
     * Asks to check a password of `email` for `client`. `trustedDevice`: the
     * client proved an earlier successful login to this account (a signed
     * known-device cookie), so the account-wide hourly limit, which an
     * attacker may have used up, does not stop it. Neither does it stop a
     * client from an address that succeeded for this account before.
     */
    async attempt(client: string, email: string, trustedDevice = false): Promise<Attempt> {
      // Taken before anything is awaited, so that a burst sees its own slots.
      const running = inFlight.get(client) ?? 0;
      if (running >= maxInFlight) return { ok: false, retryAfter: 1 };
      inFlight.set(client, running + 1);
      let released = false;
      const done = () => {
        if (released) return;
        released = true;
        const n = (inFlight.get(client) ?? 1) - 1;
        if (n > 0) inFlight.set(client, n);
        else inFlight.delete(client);
      };
      const keys = keysOf(client, email);
      const at = o.now();
      let verdict: number;
      const reserve = (trusted: boolean) =>
        store.update(keys, (records) => {
          const [ca, c, a] = records as (ThrottleRecord | null)[];
          const now = o.now();
          const pair = counter(ca, now);
          const one = counter(c, now);
          const times = (a && "times" in a ? a.times : []).filter((t) => t > now - HOUR);
          const blocked = Math.max(pair.blockedUntil, one.blockedUntil);
          if (blocked > now) return { records: [ca, c, a], result: blocked - now };
          // Negative: only the account-wide limit refuses (a known address may pass it).
          if (!trusted && times.length >= accountPerHour) return { records: [ca, c, a], result: -(times[0] + HOUR - now) };
          // Counted as a failure now; refunded by succeeded().
          return { records: [fail(pair, perAccountFree, now), fail(one, perClientFree, now), { times: [...times, at] }], result: 0 };
        }, windowMs);
      try {
        verdict = await reserve(trustedDevice);
        if (verdict < 0) {
          const known = !client.startsWith("device:") && (await isKnown(client, email));
          verdict = known ? await reserve(true) : -verdict;
        }
      } catch (e) {
        done();
        throw e;
      }
      if (verdict > 0) {
        done();
        return { ok: false, retryAfter: seconds(verdict) };
      }
      return {
        ok: true,
        done,
        succeeded: async () => {
          await store.update(keys, (records) => {
            const [, c, a] = records as (ThrottleRecord | null)[];
            const now = o.now();
            const one = counter(c, now);
            const times = a && "times" in a ? [...a.times] : [];
            const i = times.indexOf(at);
            if (i >= 0) times.splice(i, 1);
            // A success clears this client's record for the account and takes back the advance count.
            const refunded: Counter = { ...one, failures: Math.max(0, one.failures - 1) };
            return {
              records: [null, refunded.failures || refunded.blockedUntil > now ? refunded : null, times.length ? { times } : null],
              result: undefined,
            };
          }, windowMs);
          // A device cookie is its own proof; only addresses are remembered.
          if (!client.startsWith("device:")) await rememberAddress(client, email);
        },
      };
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

/**
 * Clears every counter of an account (`cli user unlock`): its failures from
 * every client and its hourly count. Returns how many records went.
 */
export async function unlockAccount(store: CounterStore, email: string): Promise<number> {
  const account = accountOf(email);
  return (await store.clear(["ca", account])) + (await store.clear(["a", account]));
}
