import { canonicalUser, type SessionLifetime, type SessionRecord, type UserRecord } from "../../domain/records.ts";
import type { ImportOptions, ImportSummary } from "../driver.ts";
import { distinctUsers, planSessions } from "../import-rules.ts";
import { commitBatch, importChunk, nextChunk, type Run } from "./import-chunk.ts";
import { claim, finish, heartbeat, HEARTBEAT_MS } from "./import-marker.ts";
import { sessionKey, sessionWrites } from "./layout.ts";
import { CONFLICT, type KvStore, LIMITS, retry } from "./store.ts";

export { abortImport } from "./import-abort.ts";
export { readPendingImport } from "./import-marker.ts";

/**
 * Bulk import into the KV store (first start on an old data folder, CLI),
 * all or nothing across the many atomic operations a large import needs.
 *
 * An import first writes a marker, `["import"]`, naming its source folder.
 * Each batch of records is then committed in one atomic operation together
 * with the list of what it added (`["import_added", id, n]`, for an abort)
 * and the marker's progress. Only after the last batch is the marker
 * removed. A marker found at startup is an import that was stopped (Ctrl-C,
 * kill -9, a full disk): the next start completes it from its source (the
 * import skips what is already there, so running it again adds each record
 * exactly once), or `cli import --abort` removes what it added. The marker
 * also carries a heartbeat, so that a second process finding it can tell
 * an import in progress (wait) from an abandoned one (take it over).
 */

type Counts = { imported: number; skipped: number };

async function importUsers(run: Run, users: UserRecord[], progress: (done: number) => void): Promise<Counts> {
  // Repeated ids go first, whole: a batch cannot tell an id an earlier batch of this run added.
  const distinct = distinctUsers(users);
  const todo = distinct.users.map(canonicalUser);
  const counts: Counts = { imported: 0, skipped: distinct.repeated };
  for (let from = 0; from < todo.length;) {
    const chunk = nextChunk(todo, from);
    const r = await retry("import users", () => importChunk(run, chunk, from));
    counts.imported += r.imported;
    counts.skipped += r.skipped;
    from += chunk.length;
    progress(from);
  }
  return counts;
}

/**
 * Imports sessions, skipping what the shared rules skip (import-rules.ts).
 * Each batch checks that its keys are absent (the marker takes one of the
 * 10 checks @deno/kv's SQLite backend allows); on a conflict it re-reads
 * which keys exist and retries without them.
 */
async function importSessions(
  run: Run,
  sessions: SessionRecord[],
  lifetime: SessionLifetime,
  progress: (done: number) => void,
): Promise<Counts> {
  const now = run.now();
  // Hashes already stored are found by each batch's check, as it commits.
  const plan = planSessions(sessions, { hasSession: () => false }, run.conflicted, { lifetime, now });
  const todo = plan.add.map(({ session, end }) => ({ s: session, expiresAt: end }));
  const counts: Counts = { imported: 0, skipped: plan.counts.skipped };
  const per = LIMITS.checks - 1;
  for (let i = 0; i < todo.length; i += per) {
    let batch = todo.slice(i, i + per);
    const done = await retry("import sessions", async () => {
      if (!batch.length) return 0;
      const keys = batch.map(({ s }) => sessionKey(s.session_id));
      const writes = batch.flatMap(({ s, expiresAt }) => sessionWrites(s, expiresAt, now));
      const checks = keys.map((key) => ({ key, versionstamp: null }));
      const added = { users: [], sessions: batch.map(({ s }) => s.session_id) };
      if ((await commitBatch(run, checks, writes, added, { sessions_done: Math.min(todo.length, i + per) })) !== CONFLICT) {
        return batch.length;
      }
      const found = await run.db.getMany<unknown>(keys);
      batch = batch.filter((_, j) => found[j].versionstamp === null);
      return CONFLICT;
    });
    counts.imported += done;
    counts.skipped += Math.min(per, todo.length - i) - done;
    progress(Math.min(todo.length, i + per));
  }
  return counts;
}

/** Imports users then sessions, all or nothing across interruptions (see the module comment). */
export async function importAll(
  db: KvStore,
  users: UserRecord[],
  sessions: SessionRecord[],
  lifetime: SessionLifetime,
  o: ImportOptions,
  now: () => number,
): Promise<ImportSummary> {
  const run: Run = {
    ...(await claim(db, o, { users: users.length, sessions: sessions.length }, now)),
    sourceIds: new Set(users.map((u) => u.id)),
    conflicted: new Set(),
    known: null,
  };
  const beat = setInterval(() => void heartbeat(run).catch(() => {}), HEARTBEAT_MS);
  try {
    return await importRun(run, users, sessions, lifetime, o);
  } finally {
    clearInterval(beat);
  }
}

async function importRun(
  run: Run,
  users: UserRecord[],
  sessions: SessionRecord[],
  lifetime: SessionLifetime,
  o: ImportOptions,
): Promise<ImportSummary> {
  const report = (phase: "users" | "sessions", total: number) => (done: number) => o.onProgress?.({ phase, done, total });
  const summary: ImportSummary = {
    users: await importUsers(run, users, report("users", users.length)),
    sessions: await importSessions(run, sessions, lifetime, report("sessions", sessions.length)),
  };
  await finish(run);
  return summary;
}
