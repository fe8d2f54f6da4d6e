import { join } from "node:path";
import { StorageUnavailableError } from "../../domain/errors.ts";
import { encodeBatch } from "./journal-format.ts";
import { afterQueuedCallbacks, type FsLike, PRIVATE_FILE, syncDir, unavailable, writeAll } from "../fs.ts";
import { errText } from "../../lib/errors.ts";
import type { Change } from "../tables.ts";

type Handle = Awaited<ReturnType<FsLike["open"]>>;
type Waiter = { line: Uint8Array; count: number; resolve: () => void; reject: (e: unknown) => void };
type Rotation = { capture: () => unknown; done: (r: { captured: unknown; generation: number } | null) => void };

/** Journal files are `.db_journal.<generation>.jsonl`; replay goes in generation order. */
export const JOURNAL_NAME = /^\.db_journal\.(\d+)\.jsonl$/;
/** The file name of journal generation `generation`. */
export const journalName = (generation: number): string => `.db_journal.${generation}.jsonl`;

export type JournalWriterOptions = {
  fs: FsLike;
  dir: string;
  log: (line: string) => void;
  /** The open (append mode) journal file, its generation, its good length in bytes and its change count. */
  generation: number;
  handle: Handle;
  size: number;
  entries: number;
  /** Called after each durable flush with the number of changes in the current generation. */
  onFlushed: (entries: number) => void;
};

export type JournalStats = { fsyncs: number; flushes: number; batches: number; generation: number; entries: number };

/** The only writer of the journal: appends are serialized and group-committed. */
export type JournalWriter = {
  /** Resolves once `changes` are fsynced; rejects with StorageUnavailableError (nothing of them kept). */
  append(changes: Change[]): Promise<void>;
  /**
   * At the next point where every change applied in memory is durable, calls
   * `capture` and starts a new journal generation; resolves with what
   * `capture` returned and the new generation (the older ones are then
   * covered by the capture), or null if that could not be done.
   */
  rotate<T>(capture: () => T): Promise<{ captured: T; generation: number } | null>;
  /** Refuses further appends, waits for pending ones, closes the file. */
  close(): Promise<void>;
  stats(): JournalStats;
};

/**
 * Group commit: while one write+fdatasync is in flight, new batches queue up
 * and all go out in the next single write+fdatasync; each waiter resolves
 * when its own bytes are durable. One loop does every write, so writes never
 * interleave and the file is only ever appended to (or cut back after a
 * failure).
 */
export function createJournalWriter(o: JournalWriterOptions): JournalWriter {
  const { fs, dir, log } = o;
  let { generation, handle, size, entries } = o;
  let queue: Waiter[] = [];
  let rotation: Rotation | null = null;
  let active = false;
  let closed = false;
  // A failed write may have left part of a line; it is cut off before anything
  // else is written, or a later good line would make it look like corruption.
  let needsRepair = false;
  let idle: (() => void)[] = [];
  const counters = { fsyncs: 0, flushes: 0, batches: 0 };
  const path = () => join(dir, journalName(generation));

  async function repair(): Promise<void> {
    if (!needsRepair) return;
    await handle.truncate(size);
    await handle.datasync();
    counters.fsyncs++;
    needsRepair = false;
  }

  async function flush(batch: Waiter[]): Promise<boolean> {
    const bytes = new Uint8Array(batch.reduce((n, w) => n + w.line.length, 0));
    let at = 0;
    for (const w of batch) {
      bytes.set(w.line, at);
      at += w.line.length;
    }
    try {
      await repair();
      needsRepair = true;
      await writeAll(handle, bytes);
      await handle.datasync();
      counters.fsyncs++;
      needsRepair = false;
    } catch (e) {
      await repair().catch(() => {}); // retried before the next write if it fails now
      const err = unavailable(`Cannot write journal ${path()}`, e);
      // Batches queued meanwhile were applied in memory on top of the failed
      // ones, so they fail too, and newest first: each rejection rolls its
      // changes back, and undoing in reverse order restores exactly the last
      // durable state.
      const failed = [...batch, ...queue];
      queue = [];
      for (let i = failed.length - 1; i >= 0; i--) failed[i].reject(err);
      return false;
    }
    size += bytes.length;
    counters.flushes++;
    counters.batches += batch.length;
    for (const w of batch) {
      entries += w.count;
      w.resolve();
    }
    return true;
  }

  async function startGeneration(): Promise<boolean> {
    const next = generation + 1;
    const nextPath = join(dir, journalName(next));
    try {
      // "w", not "wx": a file of that number can only be an empty leftover of
      // a rotation that failed here before (startup continues the highest one).
      const h = await fs.open(nextPath, "w", PRIVATE_FILE);
      try {
        await syncDir(fs, dir); // the new file must survive a crash before acks go into it
      } catch (e) {
        await h.close();
        throw e;
      }
      const old = handle;
      [handle, generation, size, entries] = [h, next, 0, 0];
      await old.close().catch(() => {});
      return true;
    } catch (e) {
      log(`Cannot start journal ${nextPath}: ${errText(e)}; compaction postponed`);
      return false;
    }
  }

  async function loop(): Promise<void> {
    active = true;
    try {
      while (queue.length || rotation) {
        const batch = queue;
        queue = [];
        const rot = rotation;
        rotation = null;
        // commit() is called in the tick its changes are applied in memory, so
        // right now every applied change is durable or in `batch`: once
        // `batch` is durable, this capture equals the journal's content.
        const captured = rot?.capture();
        const ok = batch.length ? await flush(batch) : await repair().then(() => true, () => false);
        if (!ok) {
          rot?.done(null);
          await afterQueuedCallbacks(); // let the rejected callers roll back before anything else is captured
          continue;
        }
        if (rot) rot.done((await startGeneration()) ? { captured, generation } : null);
        if (batch.length) o.onFlushed(entries);
      }
    } finally {
      active = false;
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  const kick = () => {
    if (!active) void loop();
  };

  return {
    append(changes) {
      if (closed) return Promise.reject(new StorageUnavailableError("The file storage is closed"));
      return new Promise<void>((resolve, reject) => {
        queue.push({ line: encodeBatch(changes), count: changes.length, resolve, reject });
        kick();
      });
    },
    rotate<T>(capture: () => T) {
      return new Promise<{ captured: T; generation: number } | null>((resolve) => {
        if (closed || rotation) return resolve(null);
        rotation = { capture, done: resolve as Rotation["done"] };
        kick();
      });
    },
    async close() {
      closed = true;
      while (active) await new Promise<void>((resolve) => idle.push(resolve));
      await handle.close();
    },
    stats: () => ({ ...counters, generation, entries }),
  };
}
