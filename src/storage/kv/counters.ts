import { sha256Hex } from "../../lib/sha256.ts";
import type { CounterStore } from "../driver.ts";
import { batches, CONFLICT, type KvStore, retry } from "./store.ts";
import type { KvKey } from "./types.ts";

/**
 * Where counters live: `["counters", ...parts]`, each written with
 * `expireIn`. A part too long for a key is stored as its SHA-256
 * (`sha256:<hex>`), the same in a key and in a prefix.
 */
const counterKey = (parts: string[]): KvKey => ["counters", ...parts.map((p) => (p.length <= 300 ? p : `sha256:${sha256Hex(p)}`))];

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
    async clear(prefix) {
      // A prefix list leaves out the key equal to the prefix: that one is read too.
      const [below, exact] = await Promise.all([db.list<unknown>(counterKey(prefix)), db.get<unknown>(counterKey(prefix))]);
      const keys = [...below.map((e) => e.key as KvKey), ...(exact.versionstamp !== null ? [counterKey(prefix)] : [])];
      for (const b of batches(keys.map((key) => ({ key, del: true as const })))) await db.commit([], b);
      return keys.length;
    },
  };
}
