import { parseTimestamp, type SessionRecord, type UserRecord } from "../domain/types.ts";
import {
  EMPTY_META, type EmailIds, emailKey, META_KEY, type Meta, sessionKey, sessionWrites, type StoredUser, userKey, userRecord,
} from "./kv-layout.ts";
import type { KvKey } from "./kv.ts";
import { CONFLICT, encode, keySize, type KvStore, LIMITS, type Mutation, retry } from "./kv-store.ts";

/**
 * Bulk import into the KV store (data folder import, CLI), in batches that
 * each fit one atomic operation, so that 10k users take a few dozen commits
 * rather than 10k and every batch is all-or-nothing.
 */

type Counts = { imported: number; skipped: number };

/** A string naming a key, to use keys as Map keys (email keys may hold bytes). */
const keyName = (k: KvKey): string => JSON.stringify(k.map((p) => (p instanceof Uint8Array ? { bytes: [...p] } : p)));

/** Next run of users that fits one atomic operation (two writes each, plus email lists and meta). */
function nextChunk(users: UserRecord[], from: number): UserRecord[] {
  let keys = 0;
  let total = 0;
  let end = from;
  while (end < users.length && end - from < LIMITS.mutations / 2 - 10) {
    const u = users[end];
    const k = keySize(userKey(u.id)) + keySize(emailKey(u.email));
    // The record, plus its [seq, id] in the email list.
    const v = encode(u).length + encode(u.id).length + 40;
    if (end > from && (keys + k > LIMITS.keyBytes || total + k + v > LIMITS.totalBytes)) break;
    keys += k;
    total += k + v;
    end++;
  }
  return users.slice(from, end);
}

type Lists = Map<string, { key: KvKey; ids: EmailIds }>;
/**
 * What an import knows without reading: every email list it wrote, valid
 * while users_meta still carries the versionstamp of its own last commit
 * (no other writer since) and the store held no user when it began.
 */
type Known = { versionstamp: string; lists: Lists } | null;

/**
 * One batch of users: skips ids already stored, gives the others the next
 * seqs in input order and appends them to their email lists (legacy
 * duplicates are kept, in order). The commit checks users_meta only, which
 * every creation, deletion and email change rewrites (see kv-layout.ts).
 */
async function importChunk(db: KvStore, chunk: UserRecord[], state: { known: Known }): Promise<Counts | typeof CONFLICT> {
  const meta = await db.get<Meta>(META_KEY);
  const m = meta.value ?? EMPTY_META;
  // The common case, a first import onto an empty store, needs no reads:
  // with no user stored there is no email entry either.
  const known = m.count === 0 ? new Map() as Lists : state.known?.versionstamp === meta.versionstamp ? state.known.lists : null;
  let stored: boolean[] = [];
  const before: Lists = new Map(known ?? []);
  if (!known) {
    stored = (await db.getMany<StoredUser>(chunk.map((u) => userKey(u.id)))).map((e) => e.versionstamp !== null);
    // Only the email lists of users to add (none at all when re-importing).
    const eks = new Map(chunk.filter((_, i) => !stored[i]).map((u) => [keyName(emailKey(u.email)), emailKey(u.email)]));
    const emails = await db.getMany<EmailIds>([...eks.values()]);
    [...eks].forEach(([name, key], i) => before.set(name, { key, ids: emails[i].value ?? [] }));
  }
  const after: Lists = new Map();
  const writes: Mutation[] = [];
  let seq = m.next_seq;
  chunk.forEach((u, i) => {
    if (stored[i]) return;
    const key = emailKey(u.email);
    const name = keyName(key);
    let list = after.get(name);
    if (!list) after.set(name, (list = { key, ids: [...(before.get(name)?.ids ?? [])] }));
    // New seqs are above every stored one, so appending keeps the list sorted.
    list.ids.push([seq, u.id]);
    writes.push({ key: userKey(u.id), value: { seq, user: u } });
    seq++;
  });
  const imported = writes.length;
  if (!imported) return { imported: 0, skipped: chunk.length };
  for (const l of after.values()) writes.push({ key: l.key, value: l.ids });
  writes.push({ key: META_KEY, value: { next_seq: seq, count: m.count + imported } });
  const versionstamp = await db.commit([{ key: META_KEY, versionstamp: meta.versionstamp }], writes);
  state.known = versionstamp !== null && known ? { versionstamp, lists: new Map([...known, ...after]) } : null;
  return versionstamp === null ? CONFLICT : { imported, skipped: chunk.length - imported };
}

/** Imports users in input order; an id already stored (or repeated in the input) is skipped. */
export async function importUsers(db: KvStore, users: UserRecord[]): Promise<Counts> {
  const seen = new Set<string>();
  const todo: UserRecord[] = [];
  const counts: Counts = { imported: 0, skipped: 0 };
  for (const u of users) {
    if (seen.has(u.id)) counts.skipped++;
    else {
      seen.add(u.id);
      todo.push(userRecord(u));
    }
  }
  const state = { known: null as Known };
  for (let from = 0; from < todo.length; ) {
    const chunk = nextChunk(todo, from);
    const r = await retry("import users", () => importChunk(db, chunk, state));
    counts.imported += r.imported;
    counts.skipped += r.skipped;
    from += chunk.length;
  }
  return counts;
}

/**
 * Imports sessions, skipping hashes already stored. With a TTL, a session
 * expires `ttlSeconds` after its `created_at` (as it would have in the
 * original); one already past that is skipped, since it could never be used.
 * Each batch checks that its keys are absent, at most 10 of them per atomic
 * operation (the limit of @deno/kv's SQLite backend); on a conflict the
 * batch re-reads which keys exist and retries without them.
 */
export async function importSessions(db: KvStore, sessions: SessionRecord[], ttlSeconds: number, now: number): Promise<Counts> {
  const counts: Counts = { imported: 0, skipped: 0 };
  const seen = new Set<string>();
  const todo: { s: SessionRecord; expiresAt: number | null }[] = [];
  for (const s of sessions) {
    let expiresAt: number | null = null;
    if (ttlSeconds > 0) {
      const created = parseTimestamp(s.created_at);
      expiresAt = (Number.isNaN(created) ? now : created) + ttlSeconds * 1000;
    }
    if (seen.has(s.session_id) || (expiresAt !== null && expiresAt <= now)) counts.skipped++;
    else {
      seen.add(s.session_id);
      todo.push({ s, expiresAt });
    }
  }
  for (let i = 0; i < todo.length; i += LIMITS.checks) {
    let batch = todo.slice(i, i + LIMITS.checks);
    const done = await retry("import sessions", async () => {
      if (!batch.length) return 0;
      const keys = batch.map(({ s }) => sessionKey(s.session_id));
      const writes = batch.flatMap(({ s, expiresAt }) => sessionWrites(s, expiresAt, now));
      if ((await db.commit(keys.map((key) => ({ key, versionstamp: null })), writes)) !== null) return batch.length;
      const found = await db.getMany<unknown>(keys);
      batch = batch.filter((_, j) => found[j].versionstamp === null);
      return CONFLICT;
    });
    counts.imported += done;
    counts.skipped += Math.min(LIMITS.checks, todo.length - i) - done;
  }
  return counts;
}
