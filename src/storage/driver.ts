import type { SessionLifetime, SessionRecord, UserRecord } from "../domain/records.ts";
import type { AccountRecord } from "../domain/accounts.ts";

export type { AccountRecord, SessionLifetime };

/**
 * What every storage driver (memory, file, kv, postgres) provides. Drivers work on
 * whole records in the original's file format; rules about who may do what
 * live above them, in the routes and the auth layer.
 *
 * Every method is awaited by its callers. A method that resolves has made its
 * change durable (for durable drivers); one that fails throws
 * `StorageUnavailableError` (or `DuplicateEmailError` from `createUser`) and
 * has changed nothing.
 */
export interface StorageDriver {
  /** Short name for logs: "memory", "file", "kv", "postgres". */
  readonly kind: string;
  /** Where the data lives, for the startup line and the CLI: an absolute folder or file, a URL, "process memory". */
  readonly location: string;
  /**
   * Counters shared by every process on this storage (the login throttle's),
   * or null when the storage belongs to one process (memory, file): the
   * app then keeps them in its own memory.
   */
  readonly counters: CounterStore | null;

  /** Every user, in storage order: file order of the data loaded, then creation order. */
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  getUser(id: string): Promise<UserRecord | null>;
  /**
   * The first user, in storage order, whose email equals `email` exactly
   * (the original's `User.search`). Data written by the original may hold
   * several users with one email; the first wins.
   */
  findUserByEmail(email: string): Promise<UserRecord | null>;
  /** Ids of the users whose email equals `email` case-insensitively, in storage order (whether an address is taken). */
  emailHolders(email: string): Promise<string[]>;
  /**
   * Adds a user. Throws `DuplicateEmailError` when another user has the same
   * email compared case-insensitively; of two concurrent creates of one email
   * exactly one succeeds.
   */
  createUser(user: UserRecord): Promise<void>;
  /**
   * Replaces a stored user (same id); false when there is none. A changed
   * email that another user has (case-insensitively) throws
   * `DuplicateEmailError` and changes nothing, checked in the same step as
   * the write; an unchanged one keeps a legacy duplicate where it is.
   */
  updateUser(user: UserRecord): Promise<boolean>;
  /** Removes a user and, in the same step, every stored session of that user and its account record; false when there is none. */
  deleteUser(id: string): Promise<boolean>;

  /** The account record of a user (our per-user state: admin grant), or null when none was ever stored. */
  getAccount(userId: string): Promise<AccountRecord | null>;
  /**
   * Stores a user's account record, replacing the previous one. Throws
   * `UserGoneError` when the user does not exist, checked atomically with
   * the write: no record outlives its user.
   */
  putAccount(account: AccountRecord): Promise<void>;
  /** Every stored account record (export, migration), in no particular order. */
  listAccounts(): Promise<AccountRecord[]>;
  /**
   * One atomic read-change-write of a user's account record: `change` gets
   * the stored record (`emptyAccount` when none) and returns the record to
   * store (null: store nothing) and a result, which `updateAccount`
   * resolves to once the record is durable. Concurrent updates of one
   * record take turns: a store that detects a conflicting write (KV's
   * versionstamps) calls `change` again on a fresh read, so `change` must
   * be free of side effects. Throws `UserGoneError` when the user does not
   * exist, checked atomically with the write. What `change` throws is
   * passed on as it is, and nothing is stored.
   */
  updateAccount<T>(userId: string, change: (current: AccountRecord) => { account: AccountRecord | null; result: T }): Promise<T>;
  /**
   * Removes the expired one-time tokens (`OneTimeToken.expires_at` at or
   * before `now`, ms) from every account record; returns how many were removed.
   * Reads check expiry anyway: this only keeps the store small.
   */
  deleteExpiredTokens(now: number): Promise<number>;

  /** The stored session whose token hash is `tokenHash` (hex SHA-256), or null. */
  getSession(tokenHash: string): Promise<SessionRecord | null>;
  /**
   * A session and, in the same read, the user `userIdHint` names (a
   * session's user never changes, so callers remember it from an earlier
   * lookup). Lets a remote store answer a session-authenticated request with
   * one round trip; `user` is null when the hint is wrong or the user is gone.
   */
  getSessionAndUser(tokenHash: string, userIdHint: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }>;
  /**
   * Stores a session, to end at `expiresAt` (ms since the epoch; null: no
   * limit), which stores that expire records themselves (Deno KV) or sweep
   * by it (PostgreSQL) keep with it. Throws `UserGoneError` when its user
   * does not exist, checked atomically with the write: a login racing the
   * user's deletion never leaves a session behind.
   */
  createSession(session: SessionRecord, expiresAt: number | null): Promise<void>;
  /**
   * Records a use of a session: `last_seen_at`, and its new end (an idle
   * timeout moves it). Nothing happens when the session is gone.
   */
  touchSession(tokenHash: string, lastSeenAt: string, expiresAt: number | null): Promise<void>;
  /**
   * Ends every stored session of a user but `exceptTokenHash` (null: all);
   * returns how many ended. Sessions created before the call began are all
   * gone when it resolves.
   */
  deleteUserSessions(userId: string, exceptTokenHash: string | null): Promise<number>;
  /** The live stored sessions of one user, in no particular order. */
  listUserSessions(userId: string): Promise<SessionRecord[]>;
  /**
   * Deletes stored sessions past `lifetime` at `now` (ms); returns how many.
   * Stores that expire records themselves (Deno KV's `expireIn`) may do
   * nothing here: every read checks expiry anyway.
   */
  deleteExpiredSessions(lifetime: SessionLifetime, now: number): Promise<number>;
  /** false when there was no such session. */
  deleteSession(tokenHash: string): Promise<boolean>;
  /** Every live stored session (export, migration). */
  listSessions(): Promise<SessionRecord[]>;

  /**
   * Bulk import of records in the original's format (data folder import,
   * CLI), all or nothing: an import stopped midway (Ctrl-C, kill -9, a full
   * disk) leaves the store as it was, or leaves a `pendingImport` that the
   * next start completes. Keeps ids, timestamps, legacy hashes, and legacy
   * duplicate emails within the source; skips a record whose id is already
   * stored (so importing twice adds nothing), a record whose email
   * (case-insensitively) belongs to a stored user outside the source, and
   * the sessions of such a user. Skips are counted in the summary.
   */
  importRecords(users: UserRecord[], sessions: SessionRecord[], options?: ImportOptions): Promise<ImportSummary>;
  /** The import that was stopped before it finished, if any (stores that import in several steps). */
  pendingImport(): Promise<PendingImport | null>;
  /** Removes what an unfinished import added; null when there is none. Counts are of records removed. */
  abortImport(): Promise<ImportSummary | null>;

  /** True when the store holds neither users nor sessions (first start: the original's files may be imported). */
  isEmpty(): Promise<boolean>;

  /** Flushes what is pending and releases files, locks and connections. Idempotent. */
  close(): Promise<void>;
}

export type ImportSummary = {
  users: { imported: number; skipped: number };
  sessions: { imported: number; skipped: number };
};

export type ImportProgress = { phase: "users" | "sessions"; done: number; total: number };

export type ImportOptions = {
  /** The folder the records come from (absolute), recorded so that an interrupted import can be completed. */
  source: string;
  /** Who imports, shown to a process that finds the import in progress. */
  pid?: number;
  hostname?: string;
  onProgress?: (p: ImportProgress) => void;
};

/** An import that has not finished: in progress in another process (`active`), or stopped. */
export type PendingImport = {
  source: string;
  started_at: string;
  pid: number;
  hostname: string;
  /** ms since the epoch of its last progress. */
  heartbeat: number;
  users_total: number;
  users_done: number;
  sessions_total: number;
  sessions_done: number;
  active: boolean;
};

/** Another process is importing into the store (or an interrupted import of another folder is in the way). */
export class ImportBusyError extends Error {
  readonly pending: PendingImport;
  constructor(pending: PendingImport, message?: string) {
    super(
      message ?? `An import of ${pending.source} into this store is in progress (process ${pending.pid} on ${pending.hostname}, ` +
          `${pending.users_done}/${pending.users_total} users); wait for it to finish`,
    );
    this.name = "ImportBusyError";
    this.pending = pending;
  }
}

/**
 * Small JSON records updated atomically by every process sharing a storage,
 * each named by a key of a few parts (`["ca", account, client]`).
 */
export interface CounterStore {
  /**
   * Reads the records of `keys` (null when absent or expired), lets `change`
   * compute their new values (null: delete) and a result, and writes them in
   * one atomic step, retrying `change` on fresh reads if another process
   * wrote meanwhile: concurrent updates never lose one another's counts.
   * Each record written lives `ttlMs`.
   */
  update<T>(
    keys: string[][],
    change: (records: (unknown | null)[]) => { records: (unknown | null)[]; result: T },
    ttlMs: number,
  ): Promise<T>;
  /** Deletes every record whose key starts with `prefix` (its first parts); returns how many. */
  clear(prefix: string[]): Promise<number>;
}
