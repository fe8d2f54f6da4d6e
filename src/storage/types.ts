import type { SessionRecord, UserRecord } from "../domain/types.ts";

/**
 * What every storage driver (memory, file, kv) provides. Drivers work on
 * whole records in the original's file format; rules about who may do what
 * live above them, in the routes and the auth layer.
 *
 * Every method is awaited by its callers. A method that resolves has made its
 * change durable (for durable drivers); one that fails throws
 * `StorageUnavailableError` (or `DuplicateEmailError` from `createUser`) and
 * has changed nothing.
 */
export interface StorageDriver {
  /** Short name for logs: "memory", "file", "kv". */
  readonly kind: string;

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
  /**
   * Adds a user. Throws `DuplicateEmailError` when another user has the same
   * email compared case-insensitively; of two concurrent creates of one email
   * exactly one succeeds.
   */
  createUser(user: UserRecord): Promise<void>;
  /** Replaces a stored user (same id); false when there is none. */
  updateUser(user: UserRecord): Promise<boolean>;
  /** Removes a user and, in the same step, every stored session of that user; false when there is none. */
  deleteUser(id: string): Promise<boolean>;

  /** The stored session whose token hash is `tokenHash` (hex SHA-256), or null. */
  getSession(tokenHash: string): Promise<SessionRecord | null>;
  /**
   * A session and, in the same read, the user `userIdHint` names (a
   * session's user never changes, so callers remember it from an earlier
   * lookup). Lets a remote store answer a session-authenticated request with
   * one round trip; `user` is null when the hint is wrong or the user is gone.
   */
  getSessionAndUser(tokenHash: string, userIdHint: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }>;
  createSession(session: SessionRecord, ttlSeconds?: number): Promise<void>;
  /** false when there was no such session. */
  deleteSession(tokenHash: string): Promise<boolean>;
  /** Every live stored session (export, migration). */
  listSessions(): Promise<SessionRecord[]>;

  /**
   * Bulk import of records in the original's format (data folder import,
   * CLI). Keeps ids, timestamps, legacy hashes and legacy duplicate emails;
   * a record whose id is already stored is skipped, so importing twice adds
   * nothing.
   */
  importRecords(users: UserRecord[], sessions: SessionRecord[]): Promise<ImportSummary>;

  /** True when the store holds neither users nor sessions (first start: the original's files may be imported). */
  isEmpty(): Promise<boolean>;

  /** Flushes what is pending and releases files, locks and connections. Idempotent. */
  close(): Promise<void>;
}

export type ImportSummary = {
  users: { imported: number; skipped: number };
  sessions: { imported: number; skipped: number };
};
