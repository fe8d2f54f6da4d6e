import { ImportBusyError, type ImportOptions, type PendingImport } from "../driver.ts";
import { batches, CONFLICT, type KvStore, retry } from "./store.ts";
import type { KvKey } from "./types.ts";

/**
 * The marker of a KV import in progress, `["import"]`, and the lists of what
 * each of its batches added (`["import_added", id, n]`): how an import is
 * claimed, kept alive, found stopped, and cleared (see import.ts).
 */

/** The marker: the pending import, with its id, its owner (the run importing now) and its batches so far. */
export type Marker = PendingImport & { id: string; owner: string; batches: number };

export const MARKER_KEY: KvKey = ["import"];
/** The key of the list of what batch `n` of import `id` added. */
export const addedKey = (id: string, n: number): KvKey => ["import_added", id, n];
/** What one batch added (users' ids, sessions' token hashes): what an abort removes. */
export type Added = { users: string[]; sessions: string[] };

/**
 * The importing process refreshes the marker's heartbeat every
 * HEARTBEAT_MS, and a heartbeat older than IMPORT_STALE_MS is an import
 * whose process is gone. Judging a live but stalled importer gone is safe:
 * the process taking over changes the marker's owner, the stalled one's
 * next commit fails its check on the marker and it stops, and both import
 * the same records, each at most once.
 */
export const HEARTBEAT_MS = 500;
export const IMPORT_STALE_MS = 3_000;

/** One import run: its marker (kept current with each commit) and what it knows of the store. */
export type MarkerRun = {
  db: KvStore;
  marker: Marker;
  markerStamp: string;
  now: () => number;
};

/** The unfinished import of this store, if any (see import.ts). */
export async function readPendingImport(db: KvStore, now: number): Promise<PendingImport | null> {
  const m = (await db.get<Marker>(MARKER_KEY)).value;
  if (!m) return null;
  return { ...publicPart(m), active: now - m.heartbeat < IMPORT_STALE_MS };
}

function publicPart(m: Marker): PendingImport {
  const { source, started_at, pid, hostname, heartbeat, users_total, users_done, sessions_total, sessions_done, active } = m;
  return { source, started_at, pid, hostname, heartbeat, users_total, users_done, sessions_total, sessions_done, active };
}

/** Takes the marker (new, or an abandoned one of the same source); throws ImportBusyError while another process imports. */
export async function claim(
  db: KvStore,
  o: ImportOptions,
  totals: { users: number; sessions: number },
  now: () => number,
): Promise<MarkerRun> {
  const owner = crypto.randomUUID();
  return await retry("start the import", async () => {
    const cur = await db.get<Marker>(MARKER_KEY);
    const m = cur.value;
    if (m && now() - m.heartbeat < IMPORT_STALE_MS) throw new ImportBusyError(m);
    if (m && m.source !== o.source) {
      throw new ImportBusyError(
        m,
        `An import of ${m.source} into this store was interrupted; complete it (start the server, or run the CLI import of that folder again) or remove it with "cli import --abort" before importing ${o.source}`,
      );
    }
    const marker: Marker = {
      id: m?.id ?? crypto.randomUUID(),
      owner,
      batches: m?.batches ?? 0,
      source: o.source,
      started_at: m?.started_at ?? new Date(now()).toISOString(),
      pid: o.pid ?? 0,
      hostname: o.hostname ?? "",
      heartbeat: now(),
      users_total: totals.users,
      users_done: 0,
      sessions_total: totals.sessions,
      sessions_done: 0,
      active: true,
    };
    const stamp = await db.commit([{ key: MARKER_KEY, versionstamp: cur.versionstamp }], [{ key: MARKER_KEY, value: marker }]);
    if (stamp === null) return CONFLICT;
    return { db, marker, markerStamp: stamp, now };
  });
}

/** Removes the marker and the added lists of a finished (or aborted) import. */
export async function finish(run: MarkerRun): Promise<void> {
  const { db, marker } = run;
  // Cleared in order: the lists, then the marker; a stop in between leaves a
  // marker whose completion finds everything there and only cleans up.
  const lists = await db.list<unknown>(["import_added", marker.id]);
  for (const b of batches(lists.map((e) => ({ key: e.key as KvKey, del: true as const })))) await db.commit([], b);
  await db.commit([], [{ key: MARKER_KEY, del: true }]);
}

/** Refreshes the marker's heartbeat between commits (a commit refreshes it too). */
export async function heartbeat(run: MarkerRun): Promise<void> {
  const stamp = run.markerStamp;
  const marker = { ...run.marker, heartbeat: run.now() };
  const next = await run.db.commit([{ key: MARKER_KEY, versionstamp: stamp }], [{ key: MARKER_KEY, value: marker }]);
  // A commit of a batch may have gone first: then that one refreshed it.
  if (next !== null && run.markerStamp === stamp) {
    run.marker = marker;
    run.markerStamp = next;
  }
}
