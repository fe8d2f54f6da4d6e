import type { SessionRecord, UserRecord } from "../domain/types.ts";
import { type Change, Tables } from "./tables.ts";
import type { ImportSummary, StorageDriver } from "./types.ts";

/**
 * Hooks that let a durable driver persist each batch of changes. `commit`
 * resolves once the changes are durable; if it throws, the changes are rolled
 * back in memory and the error reaches the caller.
 */
export type CommitFn = (changes: Change[]) => Promise<void>;

/**
 * A driver over in-memory `Tables`. On its own (`commit` absent) it is the
 * `memory` storage, for tests and throwaway runs; the file driver reuses it
 * with a commit function that journals each change.
 */
export function createTablesDriver(tables: Tables, kind: string, commit?: CommitFn, onClose?: () => Promise<void>): StorageDriver {
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
    listUsers: () => Promise.resolve([...tables.users.values()]),
    countUsers: () => Promise.resolve(tables.users.size),
    getUser: (id) => Promise.resolve(tables.users.get(id) ?? null),
    findUserByEmail: (email) => Promise.resolve(tables.findByEmail(email)),
    async createUser(user: UserRecord) {
      await run(tables.planCreateUser(user));
    },
    async updateUser(user: UserRecord) {
      if (!tables.users.has(user.id)) return false;
      await run([{ op: "putUser", user }]);
      return true;
    },
    async deleteUser(id: string) {
      const changes = tables.planDeleteUser(id);
      if (!changes) return false;
      await run(changes);
      return true;
    },
    getSession: (h) => Promise.resolve(tables.sessions.get(h) ?? null),
    getSessionAndUser: (h, id) => Promise.resolve({ session: tables.sessions.get(h) ?? null, user: tables.users.get(id) ?? null }),
    listSessions: () => Promise.resolve([...tables.sessions.values()]),
    async createSession(session: SessionRecord) {
      await run([{ op: "putSession", session }]);
    },
    async deleteSession(h: string) {
      if (!tables.sessions.has(h)) return false;
      await run([{ op: "delSession", session_id: h }]);
      return true;
    },
    async importRecords(users: UserRecord[], sessions: SessionRecord[]): Promise<ImportSummary> {
      const changes: Change[] = [];
      const summary: ImportSummary = { users: { imported: 0, skipped: 0 }, sessions: { imported: 0, skipped: 0 } };
      const seen = new Set<string>();
      for (const user of users) {
        if (tables.users.has(user.id) || seen.has(user.id)) summary.users.skipped++;
        else {
          seen.add(user.id);
          changes.push({ op: "putUser", user });
          summary.users.imported++;
        }
      }
      for (const session of sessions) {
        if (tables.sessions.has(session.session_id)) summary.sessions.skipped++;
        else {
          changes.push({ op: "putSession", session });
          summary.sessions.imported++;
        }
      }
      if (changes.length) await run(changes);
      return summary;
    },
    isEmpty: () => Promise.resolve(tables.users.size === 0 && tables.sessions.size === 0),
    close: () => (onClose ? onClose() : Promise.resolve()),
  };
}

/** The `memory` storage: nothing survives the process. */
export function createMemoryDriver(): StorageDriver {
  return createTablesDriver(new Tables(), "memory");
}
