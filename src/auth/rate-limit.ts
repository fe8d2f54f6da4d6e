import type { CounterStore } from "../storage/driver.ts";

/**
 * A sliding-window limit: at most `limit` events per key in any `windowMs`,
 * kept in a `CounterStore` (this process's memory, or the storage every
 * process shares: kv, postgres), so that several servers count together.
 * Used for what is not a password check: sign-ups per address, emails per
 * account, self-service requests per address.
 */
export type RateLimitOptions = {
  store: CounterStore;
  /** The first part of every key, naming the limit. */
  name: string;
  limit: number;
  windowMs: number;
  now: () => number;
};

export type RateLimit = {
  /** Counts one event of `key`: 0 when allowed, else the seconds until one would be. */
  take(key: string): Promise<number>;
  /** Takes back the last event counted for `key` (what it allowed did not happen after all). */
  refund(key: string): Promise<void>;
};

type Log = { times: number[] };
const timesOf = (r: unknown): number[] =>
  r && typeof r === "object" && Array.isArray((r as Log).times) ? (r as Log).times.filter(Number.isFinite) : [];

/**
 * A limit over `store`.
 *
 * @example const signups = createRateLimit({ store, name: "signup", limit: 10, windowMs: 3_600_000, now: Date.now });
 *          if ((await signups.take(client)) > 0) refuse();
 */
export function createRateLimit({ store, name, limit, windowMs, now }: RateLimitOptions): RateLimit {
  return {
    take: (key) =>
      // Counted in the same atomic step as the check: a burst in parallel is limited like one in a row.
      store.update([[name, key]], ([r]) => {
        const at = now();
        const times = timesOf(r).filter((t) => t > at - windowMs);
        if (times.length >= limit) return { records: [r], result: Math.max(1, Math.ceil((times[0] + windowMs - at) / 1000)) };
        return { records: [{ times: [...times, at] }], result: 0 };
      }, windowMs),
    refund: (key) =>
      store.update([[name, key]], ([r]) => {
        const times = timesOf(r).slice(0, -1);
        return { records: [times.length ? { times } : null], result: undefined };
      }, windowMs),
  };
}
