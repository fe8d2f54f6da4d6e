import { StorageUnavailableError } from "../../domain/errors.ts";
import type { KvKey, KvLike } from "./types.ts";

/**
 * The thin layer between the KV driver and a `KvLike`: JSON codec, the one
 * place where errors of the KV library become `StorageUnavailableError`, and
 * the size limits of an atomic operation.
 *
 * Values are always `Uint8Array` of UTF-8 JSON, never structured values:
 * Deno would store those in V8's serialisation format, which Bun cannot
 * produce, so a KV written by one runtime could not be read by another.
 */

export type Entry<T> = { value: T | null; versionstamp: string | null };
export type Check = { key: KvKey; versionstamp: string | null };
export type Mutation = { key: KvKey; value?: unknown; expireIn?: number; del?: true };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function firstLine(e: unknown): string {
  // @deno/kv appends a native stack trace to its messages; the first line names the failure.
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

function unavailable(what: string, e: unknown): StorageUnavailableError {
  return new StorageUnavailableError(`Deno KV ${what} failed: ${firstLine(e)}`, { cause: e });
}

function decode<T>(key: readonly unknown[], value: unknown): T | null {
  if (value === null || value === undefined) return null;
  // @deno/kv hands back Node Buffers, Deno plain Uint8Arrays: TextDecoder reads both.
  if (!(value instanceof Uint8Array)) throw new Error(`Deno KV value at [${key.map(String).join(", ")}] is not UTF-8 JSON bytes`);
  return JSON.parse(decoder.decode(value)) as T;
}

/** A value as stored: its JSON, UTF-8 encoded. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Largest number of keys `getMany` accepts in one call on every backend. */
const GET_MANY_MAX = 10;

/**
 * Limits of one atomic operation that hold on every backend, with margin:
 * @deno/kv's SQLite build accepts only 10 checks (Deno itself 100); all accept
 * 1000 mutations, 800 KiB of keys and values and 80 KiB of keys.
 */
export const LIMITS = { checks: 10, mutations: 500, keyBytes: 60_000, totalBytes: 600_000 };

/** An upper bound of a key's encoded size (tag, escaped bytes, terminator per part), for batching against LIMITS. */
export function keySize(key: KvKey): number {
  let n = 0;
  for (const p of key) n += 2 + (typeof p === "string" ? encoder.encode(p).length * 2 : p instanceof Uint8Array ? p.length * 2 : 9);
  return n;
}

/**
 * Splits mutations into runs that each fit in one atomic operation, keeping
 * their order, so the first run holds the first mutations.
 */
export function batches(mutations: Mutation[]): Mutation[][] {
  const out: Mutation[][] = [];
  let cur: Mutation[] = [];
  let keys = 0;
  let total = 0;
  for (const m of mutations) {
    const k = keySize(m.key);
    const v = m.del ? 0 : encode(m.value).length;
    const full = cur.length + 1 > LIMITS.mutations || keys + k > LIMITS.keyBytes || total + k + v > LIMITS.totalBytes;
    if (full && cur.length) {
      out.push(cur);
      cur = [];
      keys = total = 0;
    }
    cur.push(m);
    keys += k;
    total += k + v;
  }
  if (cur.length) out.push(cur);
  return out;
}

const pause = (attempt: number) => new Promise((res) => setTimeout(res, Math.random() * Math.min(2 ** attempt, 25)));

/**
 * SQLite answers "database is locked" when another connection (another
 * process sharing the file, or a second handle in this one) holds the write
 * lock. The failed operation changed nothing, so it is simply run again.
 */
const isBusy = (e: unknown): boolean => /database is locked|SQLITE_BUSY/i.test(firstLine(e));

/** Runs one call of the KV library, retrying while the database is busy and reporting any other failure as 503. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusy(err) || attempt >= 100) throw unavailable(what, err);
    }
    await pause(attempt);
  }
}

/** The store the KV driver works with, made by `createKvStore`. */
export type KvStore = ReturnType<typeof createKvStore>;

/** JSON reads and atomic writes over a `KvLike`, every failure of the library reported as `StorageUnavailableError`. */
export function createKvStore(kv: KvLike) {
  return {
    async get<T>(key: KvKey): Promise<Entry<T>> {
      const e = await call("read", () => kv.get(key));
      return { value: decode<T>(key, e.value), versionstamp: e.versionstamp };
    },

    /** Any number of keys, read GET_MANY_MAX at a time, in parallel. */
    async getMany<T>(keys: KvKey[]): Promise<Entry<T>[]> {
      const calls = [];
      for (let i = 0; i < keys.length; i += GET_MANY_MAX) calls.push(call("read", () => kv.getMany(keys.slice(i, i + GET_MANY_MAX))));
      const raw = (await Promise.all(calls)).flat();
      return raw.map((e, i) => ({ value: decode<T>(keys[i], e.value), versionstamp: e.versionstamp }));
    },

    async list<T>(prefix: KvKey, limit?: number): Promise<{ key: readonly unknown[]; value: T }[]> {
      const raw = await call("list", async () => {
        const out: { key: readonly unknown[]; value: unknown }[] = [];
        for await (const e of kv.list({ prefix }, { limit, batchSize: 500 })) out.push(e);
        return out;
      });
      return raw.map((e) => ({ key: e.key, value: decode<T>(e.key, e.value) as T }));
    },

    /**
     * Commits checks and mutations as one atomic operation. Resolves to the
     * new versionstamp, or null when a check failed (someone wrote first).
     */
    async commit(checks: Check[], mutations: Mutation[]): Promise<string | null> {
      const res = await call("write", () => {
        const op = kv.atomic();
        if (checks.length) op.check(...checks);
        for (const m of mutations) {
          if (m.del) op.delete(m.key);
          else op.set(m.key, encode(m.value), m.expireIn ? { expireIn: m.expireIn } : undefined);
        }
        return op.commit();
      });
      return res.ok ? (res.versionstamp ?? "") : null;
    },
  };
}

/** What a `retry` step returns when the checks of its commit failed. */
export const CONFLICT: unique symbol = Symbol("conflict");

/**
 * Runs an optimistic read-check-write step until no concurrent writer
 * interferes. `step` returns `CONFLICT` when its commit's checks failed; it is
 * then re-run on fresh reads, after a short random pause so that competing
 * processes do not retry in lockstep.
 */
export async function retry<T>(what: string, step: () => Promise<T | typeof CONFLICT>): Promise<T> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const r = await step();
    if (r !== CONFLICT) return r;
    await pause(attempt);
  }
  throw new StorageUnavailableError(`Deno KV ${what}: still conflicting with concurrent writes after 40 attempts`);
}
