import { ImportBusyError, type ImportSummary } from "../driver.ts";
import {
  type EmailIds,
  emailKey,
  EMPTY_META,
  type Meta,
  META_KEY,
  sessionKey,
  type StoredSession,
  type StoredUser,
  userKey,
  userSessionKey,
} from "./layout.ts";
import { type Added, finish, IMPORT_STALE_MS, type Marker, MARKER_KEY } from "./import-marker.ts";
import { batches, CONFLICT, type KvStore, type Mutation, retry } from "./store.ts";
import { keyName } from "./import-chunk.ts";
import type { KvKey } from "./types.ts";

/** `cli import --abort` on the KV store: removing what an unfinished import added, from its added lists. */

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
  await finish({ db, marker: m, markerStamp: cur.versionstamp ?? "", now });
  return summary;
}
