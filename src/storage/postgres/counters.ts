import { sha256Hex } from "../../lib/sha256.ts";
import type { CounterStore } from "../driver.ts";
import type { Run, Sql } from "./query.ts";

/**
 * A counter's key as stored: its parts as a JSON array (readable, distinct
 * keys stay distinct, and the keys under a prefix are the ones starting
 * with the prefix's array text minus its closing bracket). A part too long
 * for an index entry is stored as its SHA-256 (`sha256:<hex>`), the same
 * for the key and for a prefix, so a prefix still finds it.
 */
const part = (p: string): string => (p.length <= 200 ? p : `sha256:${sha256Hex(p)}`);
const counterKey = (parts: string[]): string => JSON.stringify(parts.map(part));

const SWEEP_EVERY_MS = 60_000;

/**
 * Counters shared by every process on one database (the login throttle's),
 * in the `counters` table. An update is one transaction: rows for absent
 * keys are inserted first (so that there is something to lock), then every
 * row is locked `FOR UPDATE`, in key order so that two updates of the same
 * keys queue rather than deadlock; `change` computes the new values and
 * they are written before the commit. Concurrent updates from any number of
 * processes therefore never lose one another's counts. Records past their
 * `expires_at` read as absent, and are deleted now and then.
 */
export function createPostgresCounters(sql: Sql, run: Run): CounterStore {
  let swept = 0;
  return {
    async update<T>(keys: string[][], change: (records: unknown[]) => { records: unknown[]; result: T }, ttlMs: number): Promise<T> {
      const ks = keys.map(counterKey);
      const locked = [...new Set(ks)].sort();
      const result = await run("update the login counters", () =>
        sql.begin(async (tx) => {
          const now = Date.now();
          await tx`insert into counters (key, value, expires_at)
            select k, null, ${new Date(now)} from unnest(${locked}::text[]) as k order by k
            on conflict (key) do nothing`;
          const rows = await tx<{ key: string; value: string | null; expires_at: Date }[]>`
            select key, value::text as value, expires_at from counters where key = any(${locked}::text[]) order by key for update`;
          const current = new Map(rows.map((r) => [r.key, r.value !== null && r.expires_at.getTime() > now ? JSON.parse(r.value) : null]));
          const { records, result } = change(ks.map((k) => current.get(k) ?? null));
          const written = new Map<string, unknown>();
          ks.forEach((k, i) => written.set(k, records[i]));
          const keep = [...written].filter(([, v]) => v !== null && v !== undefined);
          const drop = [...written].filter(([, v]) => v === null || v === undefined).map(([k]) => k);
          if (keep.length) {
            await tx`insert into counters (key, value, expires_at)
              select k, v::jsonb, ${new Date(now + ttlMs)} from unnest(${keep.map(([k]) => k)}::text[], ${
              keep.map(([, v]) => JSON.stringify(v))
            }::text[]) as x(k, v)
              on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at`;
          }
          if (drop.length) await tx`delete from counters where key = any(${drop}::text[])`;
          return result;
        }));
      if (Date.now() - swept > SWEEP_EVERY_MS) {
        swept = Date.now();
        // Not awaited: a login does not wait for the clean-up, which may fail harmlessly.
        run("delete expired counters", () => sql`delete from counters where expires_at < ${new Date(swept)}`).catch(() => {});
      }
      // postgres.js types a transaction's result as unwrapped arrays; `change` gave exactly a T.
      return result as T;
    },
    async clear(prefix) {
      const exact = counterKey(prefix);
      const below = `${exact.slice(0, -1)},`;
      const rows = await run(
        "clear login counters",
        () => sql`delete from counters where key = ${exact} or starts_with(key, ${below}) returning key`,
      );
      return rows.length;
    },
  };
}
