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
 * Runs each piece of work after every earlier one that shares a name with it
 * has finished, and at once when none does. The work is queued synchronously
 * on all its names at once, so a piece only ever waits for pieces queued
 * before it: no two can wait for each other.
 */
function createKeyQueue() {
  const tails = new Map<string, Promise<void>>();
  return async function inTurn<T>(names: string[], work: () => Promise<T>): Promise<T> {
    const earlier = names.flatMap((n) => tails.get(n) ?? []);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    for (const n of names) tails.set(n, mine);
    try {
      await Promise.all(earlier);
      return await work();
    } finally {
      release();
      for (const n of names) if (tails.get(n) === mine) tails.delete(n);
    }
  };
}

/**
 * Counters shared by every process on one Deno KV (the login throttle's):
 * read, changed and written back in one atomic operation that checks every
 * key's versionstamp, retried on a conflict.
 *
 * Within one process, updates of a key take turns. A burst of logins for
 * one account all rewrite that account's counter: run side by side, every
 * commit but one failed its check and retried, and under 300 at once many
 * ran out of retries (503 to the attempt, the owner's included). In turn,
 * each commit is made on a fresh read and passes; only updates of other
 * processes can still conflict, at most one per process at a time, which
 * the retries absorb. The throttle's arithmetic is unchanged: the same
 * change runs on the same records, one after another.
 */
export function createKvCounters(db: KvStore): CounterStore {
  const inTurn = createKeyQueue();
  return {
    update(keys, change, ttlMs) {
      const kvKeys = keys.map(counterKey);
      return inTurn(kvKeys.map((k) => JSON.stringify(k)), () =>
        retry("update counters", async () => {
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
        }));
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
