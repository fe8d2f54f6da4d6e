import { DuplicateEmailError, UserGoneError } from "../../domain/errors.ts";
import { canonicalUser, type SessionRecord, type UserRecord } from "../../domain/records.ts";
import { createKvCounters } from "./counters.ts";
import { abortImport, importAll, readPendingImport } from "./import.ts";
import { accountMethods } from "./accounts.ts";
import {
  accountKey,
  type EmailIds,
  emailKey,
  EMPTY_META,
  keyable,
  type Meta,
  META_KEY,
  sameKey,
  sessionKey,
  sessionWrites,
  type StoredSession,
  type StoredUser,
  userKey,
  userSessionKey,
  userSessionsVersionKey,
  withId,
} from "./layout.ts";
import { batches, type Check, CONFLICT, createKvStore, type Entry, type Mutation, retry } from "./store.ts";
import type { ImportOptions, ImportSummary, SessionLifetime, StorageDriver } from "../driver.ts";
import type { KvKey, KvLike } from "./types.ts";
import { BoundedMap } from "../../lib/bounded-map.ts";
import { createReadBatcher } from "../read-batcher.ts";

export type { KvKey, KvLike } from "./types.ts";

export type KvDriverOptions = {
  /** Current time in ms since the epoch; session expiry is checked against it on every read. */
  now: () => number;
  /**
   * How long (ms) `getSessionAndUser` may answer a session's user from this
   * process's memory instead of reading it again; 0: always read. The
   * session itself is always read, so a logout or a deleted user (whose
   * sessions go with it) is honoured by every process at once; only a name
   * changed through another process can show up to this late in that
   * user's own `/users/me`. Default 1000.
   */
  userCacheMs?: number;
  /** The KV file (absolute) or URL, for the startup line. */
  location?: string;
  /** How long imported sessions live (from their `created_at` and `last_seen_at`); absent: no limit. */
  sessionLifetime?: SessionLifetime;
};

const check = (key: KvKey, e: { versionstamp: string | null }): Check => ({ key, versionstamp: e.versionstamp });

/**
 * The `kv` storage: users and sessions in Deno KV, shared safely by every
 * process (of any runtime) that opens the same database. Key layout and the
 * concurrency rule are described in layout.ts. Every multi-key change is
 * one atomic operation, so a failure leaves nothing half-written; errors of
 * the KV library surface as `StorageUnavailableError`.
 *
 * @example
 * const driver = createKvDriver(await openKvStore("data.kv", {}), { now: Date.now, sessionLifetime: { absolute: 3600, idle: 0 } });
 */
export function createKvDriver(kv: KvLike, options: KvDriverOptions): StorageDriver {
  const db = createKvStore(kv);
  const lifetime = options.sessionLifetime ?? { absolute: 0, idle: 0 };
  const live = (s: StoredSession): boolean => s.expires_at === null || options.now() <= s.expires_at;
  let closed = false;
  // Users recently read for authentication (see userCacheMs), bounded.
  const userCacheMs = options.userCacheMs ?? 1000;
  const recentUsers = new BoundedMap<string, { user: UserRecord; until: number }>(10_000);
  const remember = (user: UserRecord) => {
    if (userCacheMs <= 0) return;
    recentUsers.set(user.id, { user, until: options.now() + userCacheMs });
  };

  // Session and user reads of authenticated requests, batched (see
  // read-batcher.ts): ten keys per getMany cost about three single gets.
  const read = createReadBatcher<KvKey, Entry<unknown>>({
    readMany: (keys) => db.getMany<unknown>(keys),
    id: (key) => `${String(key[0])}\u0000${String(key[1])}`,
    maxBatch: 10,
    maxInFlight: 1,
  });

  return {
    kind: "kv",
    counters: createKvCounters(db),
    location: options.location ?? "Deno KV",

    async listUsers(): Promise<UserRecord[]> {
      const all = await db.list<StoredUser>(["users"]);
      return all.map((e) => e.value).sort((a, b) => a.seq - b.seq).map((v) => v.user);
    },

    async countUsers(): Promise<number> {
      return (await db.get<Meta>(META_KEY)).value?.count ?? 0;
    },

    async getUser(id: string): Promise<UserRecord | null> {
      if (!keyable(id)) return null;
      return (await db.get<StoredUser>(userKey(id))).value?.user ?? null;
    },

    async findUserByEmail(email: string): Promise<UserRecord | null> {
      const ids = (await db.get<EmailIds>(emailKey(email))).value ?? [];
      // Usually one id. Legacy duplicates are read in storage order, and the
      // first exact (case-sensitive) match wins, as in the original.
      for (let i = 0; i < ids.length; i += 10) {
        const found = await db.getMany<StoredUser>(ids.slice(i, i + 10).map(([, id]) => userKey(id)));
        for (const e of found) if (e.value && e.value.user.email === email) return e.value.user;
      }
      return null;
    },

    async emailHolders(email: string): Promise<string[]> {
      return ((await db.get<EmailIds>(emailKey(email))).value ?? []).map(([, id]) => id);
    },

    async createUser(user: UserRecord): Promise<void> {
      const rec = canonicalUser(user);
      const ek = emailKey(rec.email);
      await retry("create user", async () => {
        const [meta, existing, idx] = (await db.getMany<unknown>([META_KEY, userKey(rec.id), ek])) as [
          Entry<Meta>,
          Entry<StoredUser>,
          Entry<EmailIds>,
        ];
        if (idx.versionstamp !== null) throw new DuplicateEmailError();
        if (existing.versionstamp !== null) throw new Error(`Cannot create user ${rec.id}: the id is already taken`);
        const m = meta.value ?? EMPTY_META;
        // The email entry is checked absent in the same operation that writes
        // it: of two concurrent creates of one email, the second commit fails
        // its check, re-reads, and gets DuplicateEmailError.
        const ok = await db.commit([check(META_KEY, meta), check(userKey(rec.id), existing), check(ek, idx)], [
          { key: userKey(rec.id), value: { seq: m.next_seq, user: rec } },
          { key: ek, value: [[m.next_seq, rec.id]] },
          { key: META_KEY, value: { next_seq: m.next_seq + 1, count: m.count + 1 } },
        ]);
        return ok === null ? CONFLICT : undefined;
      });
    },

    async updateUser(user: UserRecord): Promise<boolean> {
      if (!keyable(user.id)) return false;
      recentUsers.delete(user.id);
      const rec = canonicalUser(user);
      return await retry("update user", async () => {
        const cur = await db.get<StoredUser>(userKey(rec.id));
        if (!cur.value) return false;
        // Same seq: an update never moves a user in storage order.
        const write: Mutation = { key: userKey(rec.id), value: { seq: cur.value.seq, user: rec } };
        const oldKey = emailKey(cur.value.user.email);
        const newKey = emailKey(rec.email);
        if (sameKey(oldKey, newKey)) {
          return (await db.commit([check(userKey(rec.id), cur)], [write])) === null ? CONFLICT : true;
        }
        // The email changed: move the index entry, under the users_meta rule.
        const [meta, oldIdx, newIdx] = (await db.getMany<unknown>([META_KEY, oldKey, newKey])) as [
          Entry<Meta>,
          Entry<EmailIds>,
          Entry<EmailIds>,
        ];
        // Another user has the new email: refused. The index entry is checked
        // unchanged by the commit, so of two moves into one free email the
        // second re-reads and lands here.
        if ((newIdx.value ?? []).some(([, id]) => id !== rec.id)) throw new DuplicateEmailError();
        const rest = (oldIdx.value ?? []).filter(([, id]) => id !== rec.id);
        const ok = await db.commit([check(userKey(rec.id), cur), check(META_KEY, meta), check(oldKey, oldIdx), check(newKey, newIdx)], [
          write,
          rest.length ? { key: oldKey, value: rest } : { key: oldKey, del: true },
          { key: newKey, value: withId(newIdx.value, cur.value.seq, rec.id) },
          { key: META_KEY, value: meta.value ?? EMPTY_META },
        ]);
        return ok === null ? CONFLICT : true;
      });
    },

    async deleteUser(id: string): Promise<boolean> {
      if (!keyable(id)) return false;
      recentUsers.delete(id);
      return await retry("delete user", async () => {
        const cur = await db.get<StoredUser>(userKey(id));
        if (!cur.value) return false;
        const ek = emailKey(cur.value.user.email);
        const [[meta, idx, version], sessions] = await Promise.all([
          db.getMany<unknown>([META_KEY, ek, userSessionsVersionKey(id)]),
          db.list<unknown>(["user_sessions", id]),
        ]);
        const m = (meta.value as Meta | null) ?? EMPTY_META;
        const rest = ((idx.value as EmailIds | null) ?? []).filter(([, i]) => i !== id);
        const mutations: Mutation[] = [
          { key: userKey(id), del: true },
          { key: accountKey(id), del: true },
          rest.length ? { key: ek, value: rest } : { key: ek, del: true },
          { key: META_KEY, value: { next_seq: m.next_seq, count: Math.max(0, m.count - 1) } },
        ];
        for (const { key } of sessions) {
          const hash = String(key[2]);
          mutations.push({ key: sessionKey(hash), del: true }, { key: userSessionKey(id, hash), del: true });
        }
        // The user, its email entry, the meta and as many sessions as fit go
        // in one operation. A user with more sessions than that (hundreds)
        // has the others deleted first: if the final step then fails, the
        // user is still there with fewer sessions, never a session left for
        // a deleted user.
        const [first, ...extra] = batches(mutations);
        for (const b of extra) await db.commit([], b);
        const ok = await db.commit([
          check(userKey(id), cur),
          check(META_KEY, meta),
          check(ek, idx),
          check(userSessionsVersionKey(id), version),
        ], [
          ...first,
          { key: userSessionsVersionKey(id), del: true },
        ]);
        return ok === null ? CONFLICT : true;
      });
    },

    ...accountMethods(db),

    async getSession(tokenHash: string): Promise<SessionRecord | null> {
      if (!keyable(tokenHash)) return null;
      const e = (await read(sessionKey(tokenHash))) as Entry<StoredSession>;
      return e.value && live(e.value) ? e.value.session : null;
    },

    async listSessions(): Promise<SessionRecord[]> {
      const all = await db.list<StoredSession>(["sessions"]);
      return all.filter((e) => e.value && live(e.value)).map((e) => e.value!.session);
    },

    async getSessionAndUser(tokenHash: string, userIdHint: string) {
      if (!keyable(tokenHash) || !keyable(userIdHint)) return { session: null, user: null };
      const known = recentUsers.get(userIdHint);
      if (known && known.until > options.now()) {
        // The common case: one KV read, the session (always fresh).
        const e = (await read(sessionKey(tokenHash))) as Entry<StoredSession>;
        return { session: e.value && live(e.value) ? e.value.session : null, user: known.user };
      }
      // Otherwise both, asked for together: they go out in one getMany (one round trip to a remote KV).
      const [s, u] = (await Promise.all([read(sessionKey(tokenHash)), read(userKey(userIdHint))])) as [
        Entry<StoredSession>,
        Entry<StoredUser>,
      ];
      const user = u.value?.user ?? null;
      if (user) remember(user);
      return { session: s.value && live(s.value) ? s.value.session : null, user };
    },

    async createSession(session: SessionRecord, expiresAt: number | null): Promise<void> {
      if (!keyable(session.user_id)) throw new UserGoneError(session.user_id);
      await retry("create session", async () => {
        const now = options.now();
        const user = await db.get<StoredUser>(userKey(session.user_id));
        if (!user.value) throw new UserGoneError(session.user_id);
        // The user must still exist when the session lands, and a deletion
        // that listed the user's sessions before this one must fail its check
        // on the user's session version and list them again (see layout.ts).
        const ok = await db.commit([check(userKey(session.user_id), user)], [
          ...sessionWrites(session, expiresAt, now),
          { key: userSessionsVersionKey(session.user_id), value: now },
        ]);
        return ok === null ? CONFLICT : undefined;
      });
    },

    async listUserSessions(userId: string): Promise<SessionRecord[]> {
      if (!keyable(userId)) return [];
      const index = await db.list<unknown>(["user_sessions", userId]);
      const found = await db.getMany<StoredSession>(index.map(({ key }) => sessionKey(String(key[2]))));
      return found.flatMap((e) => (e.value && live(e.value) ? [e.value.session] : []));
    },

    async touchSession(tokenHash: string, lastSeenAt: string, expiresAt: number | null): Promise<void> {
      if (!keyable(tokenHash)) return;
      await retry("touch session", async () => {
        const e = await db.get<StoredSession>(sessionKey(tokenHash));
        if (!e.value || !live(e.value)) return;
        // Checked: a session ended meanwhile is not brought back.
        const touched = { ...e.value.session, last_seen_at: lastSeenAt };
        const ok = await db.commit([check(sessionKey(tokenHash), e)], sessionWrites(touched, expiresAt, options.now()));
        return ok === null ? CONFLICT : undefined;
      });
    },

    async deleteUserSessions(userId: string, except: string | null): Promise<number> {
      if (!keyable(userId)) return 0;
      const hashes = (await db.list<unknown>(["user_sessions", userId])).map(({ key }) => String(key[2])).filter((h) => h !== except);
      const deletes = hashes.flatMap((h): Mutation[] => [{ key: sessionKey(h), del: true }, { key: userSessionKey(userId, h), del: true }]);
      for (const b of batches(deletes)) await db.commit([], b);
      return hashes.length;
    },

    // Deno KV deletes records past their `expireIn` itself; reads check expiry.
    deleteExpiredSessions: () => Promise.resolve(0),

    async deleteSession(tokenHash: string): Promise<boolean> {
      if (!keyable(tokenHash)) return false;
      return await retry("delete session", async () => {
        const e = await db.get<StoredSession>(sessionKey(tokenHash));
        if (!e.value) return false;
        const ok = await db.commit([check(sessionKey(tokenHash), e)], [
          { key: sessionKey(tokenHash), del: true },
          { key: userSessionKey(e.value.session.user_id, tokenHash), del: true },
        ]);
        // An expired session not yet collected is removed too, but reported
        // as absent, consistently with getSession.
        return ok === null ? CONFLICT : live(e.value);
      });
    },

    importRecords(users: UserRecord[], sessions: SessionRecord[], o?: ImportOptions) {
      return importAll(db, users, sessions, lifetime, o ?? { source: "(records)" }, options.now);
    },

    pendingImport: () => readPendingImport(db, options.now()),

    abortImport(): Promise<ImportSummary | null> {
      return abortImport(db, options.now);
    },

    async isEmpty(): Promise<boolean> {
      const [meta, sessions] = await Promise.all([db.get<Meta>(META_KEY), db.list<unknown>(["sessions"], 1)]);
      return (meta.value?.count ?? 0) === 0 && sessions.length === 0;
    },

    close(): Promise<void> {
      if (!closed) {
        closed = true;
        kv.close();
      }
      return Promise.resolve();
    },
  };
}
