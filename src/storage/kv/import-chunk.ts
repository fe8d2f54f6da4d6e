import type { UserRecord } from "../../domain/records.ts";
import { planUsers } from "../import-rules.ts";
import { type Added, addedKey, type Marker, MARKER_KEY, type MarkerRun } from "./import-marker.ts";
import { type EmailIds, emailKey, EMPTY_META, type Meta, META_KEY, type StoredUser, userKey } from "./layout.ts";
import { type Check, CONFLICT, encode, keySize, LIMITS, type Mutation } from "./store.ts";
import type { KvKey } from "./types.ts";
import { ImportBusyError } from "../driver.ts";

/**
 * One batch of a KV import: how many users fit one atomic operation, and
 * committing a batch together with its added list and the marker's progress.
 */

type Counts = { imported: number; skipped: number };

/** A string naming a key, to use keys as Map keys (email keys may hold bytes). */
export const keyName = (k: KvKey): string => JSON.stringify(k.map((p) => (p instanceof Uint8Array ? { bytes: [...p] } : p)));

/** Next run of users that fits one atomic operation (two writes each, plus email lists, meta, marker and the added list). */
export function nextChunk(users: UserRecord[], from: number): UserRecord[] {
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
export type Run = MarkerRun & {
  /** Ids of the source: an email held by one of them is this import's own (a legacy duplicate), not a conflict. */
  sourceIds: Set<string>;
  /** Users skipped because their email belongs to another user: their sessions are skipped too. */
  conflicted: Set<string>;
  /** Email lists as this run last wrote them, valid while users_meta carries `metaStamp` (no other writer since). */
  known: { metaStamp: string; lists: Lists } | null;
};

/** Commits a batch together with its added list and the marker's progress; CONFLICT when a check failed. */
export async function commitBatch(
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
 * One batch of users: skips what the shared rules skip (ids stored, emails
 * held by a user outside the source), gives the others the next seqs in
 * input order and appends them to their email lists (legacy duplicates
 * within the source are kept, in order). The commit checks users_meta, which every creation,
 * deletion and email change rewrites (see layout.ts).
 */
export async function importChunk(run: Run, chunk: UserRecord[], done: number): Promise<Counts | typeof CONFLICT> {
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
  const storedIds = new Set(chunk.filter((_, i) => stored[i]).map((u) => u.id));
  const plan = planUsers(chunk, {
    hasUser: (id) => storedIds.has(id),
    emailHolders: (email) => (before.get(keyName(emailKey(email)))?.ids ?? []).map(([, id]) => id),
  }, run.sourceIds);
  for (const id of plan.conflicted) run.conflicted.add(id);
  const after: Lists = new Map();
  const writes: Mutation[] = [];
  const added: string[] = [];
  const skipped = plan.counts.skipped;
  let seq = m.next_seq;
  for (const u of plan.add) {
    const key = emailKey(u.email);
    const name = keyName(key);
    const current = after.get(name)?.ids ?? before.get(name)?.ids ?? [];
    // New seqs are above every stored one, so appending keeps the list sorted.
    after.set(name, { key, ids: [...current, [seq, u.id]] });
    writes.push({ key: userKey(u.id), value: { seq, user: u } });
    added.push(u.id);
    seq++;
  }
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
