import { DuplicateEmailError } from "../domain/errors.ts";
import type { SessionRecord, UserRecord } from "../domain/records.ts";
import type { AccountRecord } from "../domain/accounts.ts";

/**
 * One change to the data, as the file driver journals it. Every change is a
 * whole record or a deletion, so replaying a change twice gives the same
 * state (replay after a crash between compaction and journal reset is safe).
 */
export type Change =
  | { op: "putUser"; user: UserRecord }
  | { op: "delUser"; id: string }
  | { op: "putSession"; session: SessionRecord }
  | { op: "delSession"; session_id: string }
  | { op: "putAccount"; account: AccountRecord }
  | { op: "delAccount"; user_id: string };

/** The email index key; an email already in lower case is its own key (no second copy of 100k strings). */
const emailKey = (email: string | null): string => {
  if (email === null) return "";
  const lower = email.toLowerCase();
  return lower === email ? email : lower;
};

/**
 * The in-memory state shared by the memory and file drivers: users in
 * storage order, a case-insensitive email index, sessions by token hash and
 * a per-user session index. Every method is synchronous, so a check and the
 * change it guards (duplicate email, delete with sessions) cannot interleave
 * with another request.
 */
export class Tables {
  readonly users = new Map<string, UserRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  /** Account records by user id (kept in their own data file). */
  readonly accounts = new Map<string, AccountRecord>();
  /** lower-cased email -> ids of users with it, in storage order. */
  /** Usually one id; a list only for the legacy duplicates of the original's data (saves 100k arrays at load). */
  readonly #byEmail = new Map<string, string | string[]>();
  readonly #sessionsByUser = new Map<string, Set<string>>();

  #idsFor(email: string | null): readonly string[] {
    const ids = this.#byEmail.get(emailKey(email));
    return ids === undefined ? [] : typeof ids === "string" ? [ids] : ids;
  }

  findByEmail(email: string): UserRecord | null {
    for (const id of this.#idsFor(email)) {
      const u = this.users.get(id);
      if (u && u.email === email) return u;
    }
    return null;
  }

  /** Ids of the users whose email equals `email` case-insensitively, in storage order. */
  emailHolders(email: string | null): readonly string[] {
    return this.#idsFor(email);
  }

  emailTaken(email: string | null): boolean {
    return this.#byEmail.has(emailKey(email));
  }

  /** Token hashes of a user's sessions. */
  sessionsOf(userId: string): ReadonlySet<string> {
    return this.#sessionsByUser.get(userId) ?? new Set();
  }

  /** Validates a create and returns its change (nothing applied yet). */
  planCreateUser(user: UserRecord): Change[] {
    if (this.emailTaken(user.email)) throw new DuplicateEmailError();
    return [{ op: "putUser", user }];
  }

  /** The changes that delete a user and all of its sessions; null if unknown. */
  planDeleteUser(id: string): Change[] | null {
    if (!this.users.has(id)) return null;
    const changes: Change[] = [...(this.#sessionsByUser.get(id) ?? [])].map((h) => ({
      op: "delSession" as const,
      session_id: h,
    }));
    if (this.accounts.has(id)) changes.push({ op: "delAccount", user_id: id });
    changes.push({ op: "delUser", id });
    return changes;
  }

  /** Applies one change and returns the change that undoes it. */
  apply(c: Change): Change | null {
    switch (c.op) {
      case "putUser": {
        const old = this.#putUser(c.user);
        return old ? { op: "putUser", user: old } : { op: "delUser", id: c.user.id };
      }
      case "delUser": {
        const old = this.users.get(c.id);
        if (!old) return null;
        this.#unindexEmail(old);
        this.users.delete(c.id);
        return { op: "putUser", user: old };
      }
      case "putSession": {
        const old = this.#putSession(c.session);
        return old ? { op: "putSession", session: old } : { op: "delSession", session_id: c.session.session_id };
      }
      case "delSession": {
        const old = this.sessions.get(c.session_id);
        if (!old) return null;
        this.#unindexSession(old);
        this.sessions.delete(c.session_id);
        return { op: "putSession", session: old };
      }
      case "putAccount": {
        const old = this.accounts.get(c.account.user_id);
        this.accounts.set(c.account.user_id, c.account);
        return old ? { op: "putAccount", account: old } : { op: "delAccount", user_id: c.account.user_id };
      }
      case "delAccount": {
        const old = this.accounts.get(c.user_id);
        if (!old) return null;
        this.accounts.delete(c.user_id);
        return { op: "putAccount", account: old };
      }
    }
  }

  /**
   * Adds the records of a folder's data files: what `apply` does for each,
   * without the change and undo records it makes (100k users load in about
   * half the time).
   */
  loadRecords(users: readonly UserRecord[], sessions: readonly SessionRecord[]): void {
    for (const u of users) this.#putUser(u);
    for (const s of sessions) this.#putSession(s);
  }

  /** Applies changes in order; returns the undo list (to apply in order) for rolling them back. */
  applyAll(changes: Change[]): Change[] {
    const undo: Change[] = [];
    for (const c of changes) {
      const u = this.apply(c);
      if (u) undo.push(u);
    }
    // push + reverse, not unshift: unshift made a 100k-record import quadratic (2.6 s).
    return undo.reverse();
  }

  /** Stores a user, keeping the email index; returns the record it replaced. */
  #putUser(user: UserRecord): UserRecord | null {
    const old = this.users.get(user.id) ?? null;
    // Re-indexing an unchanged email would move the user to the end of its
    // email's list: after a password re-hash, the second of two legacy
    // duplicates would start winning the lookups.
    const sameEmail = old !== null && emailKey(old.email) === emailKey(user.email);
    if (old && !sameEmail) this.#unindexEmail(old);
    this.users.set(user.id, user);
    if (!sameEmail) this.#indexEmail(user);
    return old;
  }

  /** Stores a session, keeping the index of each user's sessions; returns the record it replaced. */
  #putSession(session: SessionRecord): SessionRecord | null {
    const old = this.sessions.get(session.session_id) ?? null;
    if (old) this.#unindexSession(old);
    this.sessions.set(session.session_id, session);
    let set = this.#sessionsByUser.get(session.user_id);
    if (!set) this.#sessionsByUser.set(session.user_id, set = new Set());
    set.add(session.session_id);
    return old;
  }

  #indexEmail(u: UserRecord): void {
    const k = emailKey(u.email);
    const ids = this.#byEmail.get(k);
    // New users go to the end of both the map and the list, so the list stays
    // in storage order: the first user of a legacy duplicate email keeps
    // authenticating.
    if (ids === undefined) this.#byEmail.set(k, u.id);
    else if (typeof ids === "string") this.#byEmail.set(k, [ids, u.id]);
    else ids.push(u.id);
  }

  #unindexEmail(u: UserRecord): void {
    const k = emailKey(u.email);
    const ids = this.#idsFor(u.email).filter((id) => id !== u.id);
    if (ids.length === 0) this.#byEmail.delete(k);
    else this.#byEmail.set(k, ids.length === 1 ? ids[0] : ids);
  }

  #unindexSession(s: SessionRecord): void {
    const set = this.#sessionsByUser.get(s.user_id);
    set?.delete(s.session_id);
    if (set && set.size === 0) this.#sessionsByUser.delete(s.user_id);
  }
}
