import { DuplicateEmailError, UserGoneError } from "../domain/errors.ts";
import { emptyAccount, withoutExpiredTokens } from "../domain/accounts.ts";
import { sessionEnd, type SessionRecord, type UserRecord } from "../domain/records.ts";
import { type Change, Tables } from "./tables.ts";
import { planSessions, planUsers } from "./import-rules.ts";
import type { ImportOptions, ImportSummary, SessionLifetime, StorageDriver } from "./driver.ts";

/**
 * Hooks that let a durable driver persist each batch of changes. `commit`
 * resolves once the changes are durable; if it throws, the changes are rolled
 * back in memory and the error reaches the caller.
 */
export type CommitFn = (changes: Change[]) => Promise<void>;

export type TablesDriverOptions = {
  kind: string;
  location: string;
  /** Makes each batch of changes durable (the file driver's journal); absent: memory only. */
  commit?: CommitFn;
  onClose?: () => Promise<void>;
};

/**
 * A driver over in-memory `Tables`. On its own (`commit` absent) it is the
 * `memory` storage, for tests and throwaway runs; the file driver reuses it
 * with a commit function that journals each change.
 */
export function createTablesDriver(tables: Tables, { kind, location, commit, onClose }: TablesDriverOptions): StorageDriver {
  async function run(changes: Change[]): Promise<void> {
    // Applied synchronously first: the check that planned these changes and
    // the changes themselves happen in one tick, so concurrent requests see a
    // consistent state (two creates of one email: exactly one wins).
    const undo = tables.applyAll(changes);
    if (!commit) return;
    try {
      await commit(changes);
    } catch (e) {
      tables.applyAll(undo);
      throw e;
    }
  }

  return {
    kind,
    location,
    // One process owns these stores: its own memory is the place for counters.
    counters: null,
    listUsers: () => Promise.resolve([...tables.users.values()]),
    countUsers: () => Promise.resolve(tables.users.size),
    getUser: (id) => Promise.resolve(tables.users.get(id) ?? null),
    findUserByEmail: (email) => Promise.resolve(tables.findByEmail(email)),
    emailHolders: (email) => Promise.resolve([...tables.emailHolders(email)]),
    async createUser(user: UserRecord) {
      await run(tables.planCreateUser(user));
    },
    async updateUser(user: UserRecord) {
      if (!tables.users.has(user.id)) return false;
      // A move to an email another user has is refused in the tick that
      // applies it: two users confirming one new address, exactly one wins.
      const holders = tables.emailHolders(user.email);
      if (holders.length && !holders.includes(user.id)) throw new DuplicateEmailError();
      await run([{ op: "putUser", user }]);
      return true;
    },
    async deleteUser(id: string) {
      const changes = tables.planDeleteUser(id);
      if (!changes) return false;
      await run(changes);
      return true;
    },
    getAccount: (userId) => Promise.resolve(tables.accounts.get(userId) ?? null),
    async putAccount(account) {
      // Checked in the same tick as the change is applied, like createSession.
      if (!tables.users.has(account.user_id)) throw new UserGoneError(account.user_id);
      await run([{ op: "putAccount", account }]);
    },
    listAccounts: () => Promise.resolve([...tables.accounts.values()]),
    async updateAccount(userId, change) {
      // Read, changed and applied in one tick: no other update comes between.
      if (!tables.users.has(userId)) throw new UserGoneError(userId);
      const { account, result } = change(tables.accounts.get(userId) ?? emptyAccount(userId));
      if (account) await run([{ op: "putAccount", account: { ...account, user_id: userId } }]);
      return result;
    },
    async deleteExpiredTokens(now) {
      const changes: Change[] = [];
      let removed = 0;
      for (const a of tables.accounts.values()) {
        const kept = withoutExpiredTokens(a, now);
        if (kept === a) continue;
        removed += a.tokens.length - kept.tokens.length;
        changes.push({ op: "putAccount", account: kept });
      }
      if (changes.length) await run(changes);
      return removed;
    },
    getSession: (h) => Promise.resolve(tables.sessions.get(h) ?? null),
    getSessionAndUser: (h, id) => Promise.resolve({ session: tables.sessions.get(h) ?? null, user: tables.users.get(id) ?? null }),
    listSessions: () => Promise.resolve([...tables.sessions.values()]),
    async createSession(session: SessionRecord) {
      // Checked in the same tick as the change is applied: no deletion can
      // come between (a deletion plans and applies its changes at once too).
      if (!tables.users.has(session.user_id)) throw new UserGoneError(session.user_id);
      await run([{ op: "putSession", session }]);
    },
    async touchSession(h: string, lastSeenAt: string) {
      const s = tables.sessions.get(h);
      if (s) await run([{ op: "putSession", session: { ...s, last_seen_at: lastSeenAt } }]);
    },
    listUserSessions: (userId) => Promise.resolve([...tables.sessionsOf(userId)].map((h) => tables.sessions.get(h)!)),
    async deleteUserSessions(userId: string, except: string | null) {
      // Listed and deleted in one tick: no session of this user can slip in between.
      const changes: Change[] = [...tables.sessionsOf(userId)].filter((h) => h !== except).map((h) => ({
        op: "delSession",
        session_id: h,
      }));
      if (changes.length) await run(changes);
      return changes.length;
    },
    async deleteExpiredSessions(lifetime: SessionLifetime, now: number) {
      const changes: Change[] = [];
      for (const s of tables.sessions.values()) {
        const end = sessionEnd(s, lifetime);
        if (end !== null && end < now) changes.push({ op: "delSession", session_id: s.session_id });
      }
      if (changes.length) await run(changes);
      return changes.length;
    },
    async deleteSession(h: string) {
      if (!tables.sessions.has(h)) return false;
      await run([{ op: "delSession", session_id: h }]);
      return true;
    },
    async importRecords(users: UserRecord[], sessions: SessionRecord[], options?: ImportOptions): Promise<ImportSummary> {
      // One batch: in memory it is applied at once, and the file driver
      // journals it as one line, which a crash keeps whole or not at all.
      const userPlan = planUsers(
        users,
        { hasUser: (id) => tables.users.has(id), emailHolders: (e) => tables.emailHolders(e) },
        new Set(users.map((u) => u.id)),
      );
      const sessionPlan = planSessions(sessions, { hasSession: (h) => tables.sessions.has(h) }, userPlan.conflicted);
      const changes: Change[] = [
        ...userPlan.add.map((user): Change => ({ op: "putUser", user })),
        ...sessionPlan.add.map(({ session }): Change => ({ op: "putSession", session })),
      ];
      const summary: ImportSummary = { users: userPlan.counts, sessions: sessionPlan.counts };
      if (changes.length) await run(changes);
      options?.onProgress?.({ phase: "users", done: users.length, total: users.length });
      return summary;
    },
    pendingImport: () => Promise.resolve(null),
    abortImport: () => Promise.resolve(null),
    isEmpty: () => Promise.resolve(tables.users.size === 0 && tables.sessions.size === 0),
    close: () => (onClose ? onClose() : Promise.resolve()),
  };
}
