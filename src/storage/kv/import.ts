import { canonicalUser, sessionEnd, type SessionLifetime, type SessionRecord, type UserRecord } from "../../domain/records.ts";
import {
  type EmailIds,
  emailKey,
  EMPTY_META,
  type Meta,
  META_KEY,
  sessionKey,
  sessionWrites,
  type StoredSession,
  type StoredUser,
  userKey,
  userSessionKey,
} from "./layout.ts";
import type { KvKey } from "./types.ts";
import { batches, type Check, CONFLICT, encode, keySize, type KvStore, LIMITS, type Mutation, retry } from "./store.ts";
import { ImportBusyError, type ImportOptions, type ImportSummary, type PendingImport } from "../driver.ts";

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
type Marker = PendingImport & { id: string; owner: string; batches: number };

const MARKER_KEY: KvKey = ["import"];
const addedKey = (id: string, n: number): KvKey => ["import_added", id, n];
type Added = { users: string[]; sessions: string[] };

/**
 * The importing process refreshes the marker's heartbeat every
 * HEARTBEAT_MS, and a heartbeat older than IMPORT_STALE_MS is an import
 * whose process is gone. Judging a live but stalled importer gone is safe:
 * the process taking over changes the marker's owner, the stalled one's
 * next commit fails its check on the marker and it stops, and both import
 * the same records, each at most once.
 */
const HEARTBEAT_MS = 500;
const IMPORT_STALE_MS = 3_000;

/** A string naming a key, to use keys as Map keys (email keys may hold bytes). */
const keyName = (k: KvKey): string => JSON.stringify(k.map((p) => (p instanceof Uint8Array ? { bytes: [...p] } : p)));

/** Next run of users that fits one atomic operation (two writes each, plus email lists, meta, marker and the added list). */
function nextChunk(users: UserRecord[], from: number): UserRecord[] {
  let keys = 0;
  let total = 0;
  let end = from;
  while (end < users.length && end - from < LIMITS.mutations / 2 - 20) {
    const u = users[end];
    const k = keySize(userKey(u.id)) + keySize(emailKey(u.email));
    // The record, its [seq, id] in the email list, its id in the added list.
    const v = encode(u).length + 2 * encode(u.id).length + 40;
    if (end > from && (keys + k > LIMITS.keyBytes || total + k + v > LIMITS.totalBytes - 20_000)) break;
    keys += k;
    total += k + v;
    end++;
  }
  return users.slice(from, end);
}

type Lists = Map<string, { key: KvKey; ids: EmailIds }>;

/** One import run: its marker (kept current with each commit) and what it knows of the store. */
type Run = {
  db: KvStore;
  marker: Marker;
  markerStamp: string;
  /** Ids of the source: an email held by one of them is this import's own (a legacy duplicate), not a conflict. */
  sourceIds: Set<string>;
  /** Users skipped because their email belongs to another user: their sessions are skipped too. */
  conflicted: Set<string>;
  now: () => number;
  /** Email lists as this run last wrote them, valid while users_meta carries `metaStamp` (no other writer since). */
  known: { metaStamp: string; lists: Lists } | null;
};

/** Commits a batch together with its added list and the marker's progress; CONFLICT when a check failed. */
async function commitBatch(
  run: Run,
  checks: Check[],
  writes: Mutation[],
  added: Added,
  progress: Partial<Marker>,
): Promise<string | null | typeof CONFLICT> {
  const marker: Marker = { ...run.marker, ...progress, batches: run.marker.batches + 1, heartbeat: run.now() };
  const all = [...writes, { key: addedKey(marker.id, run.marker.batches), value: added }, { key: MARKER_KEY, value: marker }];
  const stamp = await run.db.commit([...checks, { key: MARKER_KEY, versionstamp: run.markerStamp }], all);
  if (stamp === null) {
    // Someone else took the marker over (this process was judged gone): stop, they complete it.
    const now = await run.db.get<Marker>(MARKER_KEY);
    if (now.value?.owner !== run.marker.owner) throw new ImportBusyError(now.value ?? run.marker);
    return CONFLICT;
  }
  run.marker = marker;
  run.markerStamp = stamp;
  return stamp;
}

/**
 * One batch of users: skips ids already stored and emails held by a user
 * outside the source, gives the others the next seqs in input order and
 * appends them to their email lists (legacy duplicates within the source
 * are kept, in order). The commit checks users_meta, which every creation,
 * deletion and email change rewrites (see layout.ts).
 */
async function importChunk(run: Run, chunk: UserRecord[], done: number): Promise<Counts | typeof CONFLICT> {
  const { db } = run;
  const meta = await db.get<Meta>(META_KEY);
  const m = meta.value ?? EMPTY_META;
  // The common case, a first import into an empty store, needs no reads:
  // every email entry there is one this run wrote.
  const known = m.count === 0 ? (new Map() as Lists) : run.known?.metaStamp === meta.versionstamp ? run.known.lists : null;
  let stored: boolean[] = chunk.map(() => false);
  const before: Lists = new Map(known ?? []);
  if (!known) {
    stored = (await db.getMany<StoredUser>(chunk.map((u) => userKey(u.id)))).map((e) => e.versionstamp !== null);
    const eks = new Map(chunk.filter((_, i) => !stored[i]).map((u) => [keyName(emailKey(u.email)), emailKey(u.email)]));
    const emails = await db.getMany<EmailIds>([...eks.values()]);
    [...eks].forEach(([name, key], i) => before.set(name, { key, ids: emails[i].value ?? [] }));
  }
  const after: Lists = new Map();
  const writes: Mutation[] = [];
  const added: string[] = [];
  let skipped = 0;
  let seq = m.next_seq;
  chunk.forEach((u, i) => {
    if (stored[i]) return void skipped++;
    const key = emailKey(u.email);
    const name = keyName(key);
    const current = after.get(name)?.ids ?? before.get(name)?.ids ?? [];
    if (current.some(([, id]) => !run.sourceIds.has(id))) {
      run.conflicted.add(u.id);
      return void skipped++;
    }
    // New seqs are above every stored one, so appending keeps the list sorted.
    after.set(name, { key, ids: [...current, [seq, u.id]] });
    writes.push({ key: userKey(u.id), value: { seq, user: u } });
    added.push(u.id);
    seq++;
  });
  if (!added.length) return { imported: 0, skipped };
  for (const l of after.values()) writes.push({ key: l.key, value: l.ids });
  writes.push({ key: META_KEY, value: { next_seq: seq, count: m.count + added.length } });
  const stamp = await commitBatch(run, [{ key: META_KEY, versionstamp: meta.versionstamp }], writes, { users: added, sessions: [] }, {
    users_done: done + chunk.length,
  });
  if (stamp === CONFLICT) return CONFLICT;
  // Every email list stays known (the store was empty when this run began)
  // while users_meta carries this commit's versionstamp: nobody else wrote.
  run.known = known ? { metaStamp: stamp as string, lists: new Map([...known, ...after]) } : null;
  return { imported: added.length, skipped };
}

async function importUsers(run: Run, users: UserRecord[], progress: (done: number) => void): Promise<Counts> {
  const seen = new Set<string>();
  const todo: UserRecord[] = [];
  const counts: Counts = { imported: 0, skipped: 0 };
  for (const u of users) {
    if (seen.has(u.id)) counts.skipped++;
    else {
      seen.add(u.id);
      todo.push(canonicalUser(u));
    }
  }
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
 * Imports sessions, skipping hashes already stored and sessions of users
 * this import skipped for their email. A session ends when `lifetime` says
 * (counted from its `created_at` and last use, as it would have in the
 * original); one already past that is skipped, since it could never be used. Each
 * batch checks that its keys are absent (the marker takes one of the 10
 * checks @deno/kv's SQLite backend allows); on a conflict it re-reads
 * which keys exist and retries without them.
 */
async function importSessions(
  run: Run,
  sessions: SessionRecord[],
  lifetime: SessionLifetime,
  progress: (done: number) => void,
): Promise<Counts> {
  const now = run.now();
  const counts: Counts = { imported: 0, skipped: 0 };
  const seen = new Set<string>();
  const todo: { s: SessionRecord; expiresAt: number | null }[] = [];
  for (const s of sessions) {
    const expiresAt = sessionEnd(s, lifetime);
    if (seen.has(s.session_id) || run.conflicted.has(s.user_id) || (expiresAt !== null && expiresAt < now)) counts.skipped++;
    else {
      seen.add(s.session_id);
      todo.push({ s, expiresAt });
    }
  }
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

/** The unfinished import of this store, if any (see the module comment). */
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
async function claim(db: KvStore, o: ImportOptions, totals: { users: number; sessions: number }, now: () => number): Promise<Run> {
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
    return { db, marker, markerStamp: stamp, sourceIds: new Set(), conflicted: new Set(), now, known: null };
  });
}

/** Removes the marker and the added lists of a finished (or aborted) import. */
async function finish(run: Run): Promise<void> {
  const { db, marker } = run;
  // Cleared in order: the lists, then the marker; a stop in between leaves a
  // marker whose completion finds everything there and only cleans up.
  const lists = await db.list<unknown>(["import_added", marker.id]);
  for (const b of batches(lists.map((e) => ({ key: e.key as KvKey, del: true as const })))) await db.commit([], b);
  await db.commit([], [{ key: MARKER_KEY, del: true }]);
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
  const run = await claim(db, o, { users: users.length, sessions: sessions.length }, now);
  for (const u of users) run.sourceIds.add(u.id);
  const beat = setInterval(() => void heartbeat(run).catch(() => {}), HEARTBEAT_MS);
  try {
    return await importRun(run, users, sessions, lifetime, o);
  } finally {
    clearInterval(beat);
  }
}

/** Refreshes the marker's heartbeat between commits (a commit refreshes it too). */
async function heartbeat(run: Run): Promise<void> {
  const stamp = run.markerStamp;
  const marker = { ...run.marker, heartbeat: run.now() };
  const next = await run.db.commit([{ key: MARKER_KEY, versionstamp: stamp }], [{ key: MARKER_KEY, value: marker }]);
  // A commit of a batch may have gone first: then that one refreshed it.
  if (next !== null && run.markerStamp === stamp) {
    run.marker = marker;
    run.markerStamp = next;
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

/**
 * Removes users the import added, in one atomic operation per list: the
 * users, their entries in the email lists and their count in users_meta
 * (checked, as every user deletion is). Their sessions go first, like
 * deleteUser's: a failure leaves users with fewer sessions, never a session
 * without its user.
 */
async function removeUsers(db: KvStore, ids: string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += 150) {
    const part = ids.slice(i, i + 150);
    removed += await retry("abort the import", async () => {
      const [meta, ...found] = await db.getMany<unknown>([META_KEY, ...part.map(userKey)]);
      const users = found.flatMap((e) => (e.value ? [(e.value as StoredUser).user] : []));
      if (!users.length) return 0;
      const emails = new Map(users.map((u) => [keyName(emailKey(u.email)), emailKey(u.email)]));
      const lists = await db.getMany<EmailIds>([...emails.values()]);
      const gone = new Set(users.map((u) => u.id));
      const sessions = (await Promise.all(users.map((u) => db.list<unknown>(["user_sessions", u.id])))).flat();
      for (
        const b of batches(
          sessions.flatMap((
            { key },
          ) => [{ key: sessionKey(String(key[2])), del: true as const }, { key: key as KvKey, del: true as const }]),
        )
      ) {
        await db.commit([], b);
      }
      const m = (meta.value as Meta | null) ?? EMPTY_META;
      const writes: Mutation[] = users.map((u) => ({ key: userKey(u.id), del: true as const }));
      [...emails.values()].forEach((key, j) => {
        const rest = (lists[j].value ?? []).filter(([, id]) => !gone.has(id));
        writes.push(rest.length ? { key, value: rest } : { key, del: true });
      });
      writes.push({ key: META_KEY, value: { next_seq: m.next_seq, count: Math.max(0, m.count - users.length) } });
      const ok = await db.commit([{ key: META_KEY, versionstamp: meta.versionstamp }], writes);
      return ok === null ? CONFLICT : users.length;
    });
  }
  return removed;
}

/** Undoes an unfinished import: removes the users and sessions it added. Null when there is none. */
export async function abortImport(db: KvStore, now: () => number): Promise<ImportSummary | null> {
  const cur = await db.get<Marker>(MARKER_KEY);
  const m = cur.value;
  if (!m) return null;
  if (now() - m.heartbeat < IMPORT_STALE_MS) throw new ImportBusyError(m);
  const summary: ImportSummary = { users: { imported: 0, skipped: 0 }, sessions: { imported: 0, skipped: 0 } };
  const lists = await db.list<Added>(["import_added", m.id]);
  const hashes = lists.flatMap(({ value }) => value.sessions);
  const stored = await db.getMany<StoredSession>(hashes.map(sessionKey));
  const sessionDeletes = stored.flatMap((e, i) =>
    e.value
      ? [{ key: sessionKey(hashes[i]), del: true as const }, {
        key: userSessionKey(e.value.session.user_id, hashes[i]),
        del: true as const,
      }]
      : []
  );
  for (const b of batches(sessionDeletes)) await db.commit([], b);
  summary.sessions.imported = sessionDeletes.length / 2;
  summary.users.imported = await removeUsers(db, lists.flatMap(({ value }) => value.users));
  await finish({ db, marker: m, markerStamp: cur.versionstamp ?? "", sourceIds: new Set(), conflicted: new Set(), now, known: null });
  return summary;
}
