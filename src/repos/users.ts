import { HttpError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/types.ts";
import { formatTimestamp } from "../domain/types.ts";
import { hashPassword } from "../auth/password.ts";
import type { StorageDriver } from "../storage/types.ts";

export type UsersRepoOptions = {
  driver: StorageDriver;
  now: () => number;
  passwordMinLength: number;
  /** Called after a user is deleted, to end sessions kept outside the storage. */
  onDelete?: (userId: string) => Promise<void>;
  /** PBKDF2 iterations (tests lower it to stay fast). */
  iterations?: number;
};

export type NewUser = { email: string; password: string; first_name?: string | null; last_name?: string | null };
export type UserPatch = { first_name?: string; last_name?: string };

export const MAX_PASSWORD = 1024;
export const MAX_NAME = 256;
export const MAX_EMAIL = 320;
/** Something before and after an @, and no control characters (C0, DEL, C1). */
const EMAIL_SHAPE = /^[^\x00-\x1f\x7f-\x9f]+@[^\x00-\x1f\x7f-\x9f@]+$/;

const invalid = (verb: "create" | "update", reason: string) => new HttpError(400, `Can't ${verb} User: ${reason}`);

/** User rules on top of a storage driver: validation, hashing, timestamps. */
export function createUsersRepo(opts: UsersRepoOptions) {
  const { driver, now } = opts;

  function checkNames(verb: "create" | "update", fields: { first_name?: string | null; last_name?: string | null }) {
    for (const k of ["first_name", "last_name"] as const) {
      const v = fields[k];
      if (typeof v === "string" && v.length > MAX_NAME) throw invalid(verb, `${k} is longer than ${MAX_NAME} characters`);
    }
  }

  function checkPassword(verb: "create" | "update", password: string) {
    if (password.length < opts.passwordMinLength) throw invalid(verb, `password is shorter than ${opts.passwordMinLength} characters`);
    if (password.length > MAX_PASSWORD) throw invalid(verb, `password is longer than ${MAX_PASSWORD} characters`);
  }

  return {
    list: () => driver.listUsers(),
    count: () => driver.countUsers(),
    get: (id: string) => driver.getUser(id),
    findByEmail: (email: string) => driver.findUserByEmail(email),

    async create(input: NewUser): Promise<UserRecord> {
      if (input.email.length > MAX_EMAIL) throw invalid("create", `email is longer than ${MAX_EMAIL} characters`);
      // Not a full RFC 5322 check (the original accepted anything): enough to
      // keep line breaks and NULs out of logs and exports, and to make it an address.
      if (!EMAIL_SHAPE.test(input.email)) throw invalid("create", "email is not a valid address (name@domain, no control characters)");
      checkPassword("create", input.password);
      checkNames("create", input);
      const ts = formatTimestamp(now());
      const user: UserRecord = {
        id: crypto.randomUUID(),
        created_at: ts,
        updated_at: ts,
        email: input.email,
        _password: await hashPassword(input.password, opts.iterations),
        first_name: input.first_name ?? null,
        last_name: input.last_name ?? null,
      };
      // The driver checks the email (case-insensitively) atomically with the
      // insert, so of two racing creates exactly one succeeds.
      await driver.createUser(user);
      return user;
    },

    async update(user: UserRecord, patch: UserPatch): Promise<UserRecord> {
      checkNames("update", patch);
      const next: UserRecord = {
        ...user,
        updated_at: formatTimestamp(now()),
        first_name: patch.first_name !== undefined ? patch.first_name : user.first_name,
        last_name: patch.last_name !== undefined ? patch.last_name : user.last_name,
      };
      // Gone between the lookup and now: the same answer as an unknown id.
      if (!(await driver.updateUser(next))) throw new HttpError(404, "Not found");
      return next;
    },

    /** A new password chosen by the user (or an admin): same rules as sign-up; `updated_at` moves. */
    async changePassword(user: UserRecord, password: string): Promise<UserRecord> {
      checkPassword("update", password);
      const next = { ...user, _password: await hashPassword(password, opts.iterations), updated_at: formatTimestamp(now()) };
      if (!(await driver.updateUser(next))) throw new HttpError(404, "Not found");
      return next;
    },

    /** Replaces the stored password hash only: `updated_at` stays, the user did not change. */
    async setPasswordHash(user: UserRecord, hash: string): Promise<UserRecord> {
      const next = { ...user, _password: hash };
      await driver.updateUser(next);
      return next;
    },

    async delete(id: string): Promise<boolean> {
      const deleted = await driver.deleteUser(id);
      if (deleted) await opts.onDelete?.(id);
      return deleted;
    },
  };
}

export type UsersRepo = ReturnType<typeof createUsersRepo>;
