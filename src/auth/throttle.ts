/**
 * Login throttling: slows down password guessing without letting an
 * attacker lock a real user out for long.
 *
 * Failures are counted per (client, account) and per client. Past a free
 * allowance, each further failure earns an exponentially growing wait,
 * capped, so a guesser is held to a trickle while the real user, from
 * another address, is never blocked by someone else's failures for the
 * same account. A success clears that (client, account) record. Records
 * are forgotten after `windowMs` without failures; the table is bounded.
 */
export type ThrottleOptions = {
  now: () => number;
  /** Failures allowed per (client, account) before waits start. */
  perAccountFree?: number;
  /** Failures allowed per client (any accounts) before waits start. */
  perClientFree?: number;
  maxWaitMs?: number;
  windowMs?: number;
  maxEntries?: number;
};

type Entry = { failures: number; blockedUntil: number; last: number };

export function createLoginThrottle(o: ThrottleOptions) {
  const perAccountFree = o.perAccountFree ?? 20;
  const perClientFree = o.perClientFree ?? 200;
  const maxWait = o.maxWaitMs ?? 60_000;
  const windowMs = o.windowMs ?? 15 * 60_000;
  const maxEntries = o.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();

  const keys = (client: string, email: string) => [`a\0${client}\0${email.toLowerCase()}`, `c\0${client}`];

  function live(key: string, now: number): Entry | null {
    const e = entries.get(key);
    if (!e) return null;
    if (now - e.last > windowMs) {
      entries.delete(key);
      return null;
    }
    return e;
  }

  return {
    /** Seconds to wait before this client may try this account again; 0 when allowed now. */
    retryAfter(client: string, email: string): number {
      const now = o.now();
      let until = 0;
      for (const k of keys(client, email)) until = Math.max(until, live(k, now)?.blockedUntil ?? 0);
      return until > now ? Math.ceil((until - now) / 1000) : 0;
    },
    failure(client: string, email: string): void {
      const now = o.now();
      const [accountKey, clientKey] = keys(client, email);
      for (const [k, free] of [[accountKey, perAccountFree], [clientKey, perClientFree]] as const) {
        const e = live(k, now) ?? { failures: 0, blockedUntil: 0, last: now };
        e.failures++;
        e.last = now;
        if (e.failures >= free) e.blockedUntil = now + Math.min(maxWait, 1000 * 2 ** Math.min(16, e.failures - free));
        entries.delete(k);
        entries.set(k, e);
      }
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    success(client: string, email: string): void {
      entries.delete(keys(client, email)[0]);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
