/**
 * The part of Deno KV the driver uses, typed structurally so that the same
 * code runs over `Deno.openKv` on Deno and over the npm package `@deno/kv`
 * on Node and Bun. The lowest layer of the KV driver: it imports nothing.
 */

/** A key part as the driver writes it (Deno also allows symbols, @deno/kv does not). */
export type KvKeyPart = string | number | bigint | boolean | Uint8Array;
export type KvKey = readonly KvKeyPart[];
/** Keys read back are only ever echoed, so typed loosely enough for both libraries. */
type KvEntryMaybe = { key: readonly unknown[]; value: unknown; versionstamp: string | null };

/** The part of an atomic operation the driver uses (`Deno.AtomicOperation`, or @deno/kv's). */
export interface KvAtomicLike {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): KvAtomicLike;
  set(key: KvKey, value: Uint8Array, options?: { expireIn?: number }): KvAtomicLike;
  delete(key: KvKey): KvAtomicLike;
  commit(): Promise<{ ok: boolean; versionstamp?: string }>;
}

/** The subset of `Deno.Kv` the driver needs (see `openKvStore` in open.ts). */
export interface KvLike {
  get(key: KvKey): Promise<KvEntryMaybe>;
  getMany(keys: readonly KvKey[]): Promise<KvEntryMaybe[]>;
  set(key: KvKey, value: Uint8Array, options?: { expireIn?: number }): Promise<unknown>;
  delete(key: KvKey): Promise<void>;
  list(selector: { prefix: KvKey }, options?: { limit?: number; batchSize?: number }): AsyncIterable<KvEntryMaybe>;
  atomic(): KvAtomicLike;
  close(): void;
}
