import type { CounterStore } from "../driver.ts";
import { CONFLICT, type KvStore, retry } from "./store.ts";
import type { KvKey } from "./types.ts";

/** Where counters live: `["counters", key]`, each written with `expireIn`. */
const counterKey = (key: string): KvKey => ["counters", key.length <= 512 ? key : key.slice(0, 512)];

/**
 * Counters shared by every process on one Deno KV (the login throttle's):
 * read, changed and written back in one atomic operation that checks every
 * key's versionstamp, retried on a conflict.
 */
export function createKvCounters(db: KvStore): CounterStore {
  return {
    update(keys, change, ttlMs) {
      const kvKeys = keys.map(counterKey);
      return retry("update counters", async () => {
        const current = await db.getMany<{ value: unknown; until: number }>(kvKeys);
        const now = Date.now();
        // expireIn only promises the earliest deletion: an entry past its time is absent.
        const { records, result } = change(current.map((e) => (e.value && e.value.until > now ? e.value.value : null)));
        const ok = await db.commit(
          kvKeys.map((key, i) => ({ key, versionstamp: current[i].versionstamp })),
          kvKeys.map((key, i) =>
            records[i] === null ? { key, del: true as const } : { key, value: { value: records[i], until: now + ttlMs }, expireIn: ttlMs }
          ),
        );
        return ok === null ? CONFLICT : result;
      });
    },
  };
}
