import { DuplicateEmailError, InvalidInputError, NotFoundError, UserGoneError } from "../domain/errors.ts";
import { type AccountRecord, withoutResetTokens } from "../domain/accounts.ts";
import { emailProblem, isStorableText, normalizeEmail } from "../domain/emails.ts";
import { hasLoneSurrogate, passwordFormProblem, type PasswordHasher } from "../domain/passwords.ts";
import { formatTimestamp, parseTimestamp, type UserRecord } from "../domain/records.ts";
import type { StorageDriver } from "../storage/driver.ts";

export type UsersRepoOptions = {
  driver: StorageDriver;
  hasher: PasswordHasher;
  now: () => number;
  passwordMinLength: number;
  /** Called after a user is deleted, to end sessions kept outside the storage. */
  onDelete?: (userId: string) => Promise<void>;
};

export type NewUser = { email: string; password: string; first_name?: string | null; last_name?: string | null };
export type UserPatch = { first_name?: string; last_name?: string };

/**
 * The 10,000 most used passwords, in lower case, from the list zxcvbn-ts
 * ships (ordered by frequency; no network at run time). Loaded at the first
 * password it has to judge, so that starting the service does not pay for it.
 */
let common: Promise<Set<string>> | null = null;
function commonPasswords(): Promise<Set<string>> {
  common ??= import("@zxcvbn-ts/language-common").then(({ dictionary }) =>
    new Set((dictionary["passwords-common"] as string[]).slice(0, 10_000).map((p) => p.toLowerCase()))
  );
  return common;
}

/** Longest accepted values, in characters. */
export const LIMITS = { email: 320, password: 1024, name: 256 } as const;
/** Something before and after an @, and no control characters (C0, DEL, C1). */
// deno-lint-ignore no-control-regex -- matching control characters is the point.
const EMAIL_SHAPE = /^[^\x00-\x1f\x7f-\x9f]+@[^\x00-\x1f\x7f-\x9f@]+$/;

/**
 * The rules about users, over a storage driver: what a valid sign-up,
 * update and password is, hashing and timestamps. The API and the CLI both
 * go through it, so a user added from the shell obeys the sign-up rules.
 *
 * @example const users = createUsersRepo({ driver, hasher, now: Date.now, passwordMinLength: 8 });
 *          await users.create({ email: "bob@hbtn.io", password: "H0lbertonSchool98!" });
 */
export function createUsersRepo({ driver, hasher, now, passwordMinLength, onDelete }: UsersRepoOptions) {
  function checkNames(verb: "create" | "update", fields: { first_name?: string | null; last_name?: string | null }) {
    for (const k of ["first_name", "last_name"] as const) {
      const v = fields[k];
      if (typeof v === "string" && v.length > LIMITS.name) {
        throw new InvalidInputError(verb, `${k} is longer than ${LIMITS.name} characters`);
      }
    }
  }

  /**
   * The password rules (NIST SP 800-63B 5.1.1.2): text, long enough, not
   * absurdly long, not repetitive or sequential, not one of the 10,000
   * passwords people pick most, alone or with digits after it (they fall
   * first to any guessing, throttled or not), and not containing the
   * service's name or the account's own (the email's local part, when it
   * has 3 characters or more).
   */
  async function checkPassword(verb: "create" | "update", password: string, email: string | null) {
    if (hasLoneSurrogate(password)) throw new InvalidInputError(verb, "password is not valid Unicode (a lone surrogate)");
    if (password.length < passwordMinLength) throw new InvalidInputError(verb, `password is shorter than ${passwordMinLength} characters`);
    if (password.length > LIMITS.password) throw new InvalidInputError(verb, `password is longer than ${LIMITS.password} characters`);
    const lower = password.toLowerCase();
    const common = await commonPasswords();
    if (common.has(lower)) throw new InvalidInputError(verb, "password is too common (one of the 10,000 most used)");
    // `letmein123`: the digits people add to a common password when told to.
    const word = /^(.{4,}?)\d+$/s.exec(lower)?.[1];
    if (word !== undefined && common.has(word)) throw new InvalidInputError(verb, "password is a common password with digits added");
    const form = passwordFormProblem(password);
    if (form) throw new InvalidInputError(verb, form);
    const local = (email ?? "").slice(0, Math.max(0, (email ?? "").lastIndexOf("@"))).toLowerCase();
    if (local.length >= 3 && lower.includes(local)) throw new InvalidInputError(verb, "password contains the email's name");
  }

  /**
   * The first user with `email`: its NFC spelling, as every new email is
   * stored, then (for data the original wrote) the spelling as typed.
   */
  async function findByEmail(email: string): Promise<UserRecord | null> {
    if (!isStorableText(email)) return null;
    const nfc = normalizeEmail(email);
    return (await driver.findUserByEmail(nfc)) ?? (nfc !== email ? await driver.findUserByEmail(email) : null);
  }

  /** An email as sign-up and an email change accept it, in the form it is stored in (NFC). */
  function checkEmail(verb: "create" | "update", input: string): string {
    if (input.length > LIMITS.email) throw new InvalidInputError(verb, `email is longer than ${LIMITS.email} characters`);
    // Not a full RFC 5322 check (the original accepted anything): enough to
    // keep line breaks and NULs out of logs and exports, and to make it an address.
    if (!EMAIL_SHAPE.test(input)) throw new InvalidInputError(verb, "email is not a valid address (name@domain, no control characters)");
    const look = emailProblem(input);
    if (look) throw new InvalidInputError(verb, look);
    // Stored in NFC, so that the drivers' case-insensitive keys make NFD and NFC twins collide.
    return normalizeEmail(input);
  }

  async function verify(user: UserRecord, password: string): Promise<UserRecord | null> {
    const { ok, needsRehash } = await hasher.verify(password, user._password);
    if (!ok) return null;
    if (!needsRehash) return user;
    const next = { ...user, _password: await hasher.hash(password) };
    await driver.updateUser(next);
    return next;
  }

  return {
    list: () => driver.listUsers(),
    count: () => driver.countUsers(),
    // No id or email holds a NUL or a lone surrogate, and PostgreSQL refuses them: not found, without asking.
    get: (id: string) => isStorableText(id) ? driver.getUser(id) : Promise.resolve(null),
    findByEmail,

    async create(input: NewUser): Promise<UserRecord> {
      const email = checkEmail("create", input.email);
      await checkPassword("create", input.password, email);
      checkNames("create", input);
      const ts = formatTimestamp(now());
      const user: UserRecord = {
        id: crypto.randomUUID(),
        created_at: ts,
        updated_at: ts,
        email,
        _password: await hasher.hash(input.password),
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
      if (!(await driver.updateUser(next))) throw new NotFoundError();
      return next;
    },

    /** A new password chosen by the user (or an admin): same rules as sign-up; `updated_at` moves. */
    async changePassword(user: UserRecord, password: string): Promise<UserRecord> {
      await checkPassword("update", password, user.email);
      const next = { ...user, _password: await hasher.hash(password), updated_at: formatTimestamp(now()) };
      if (!(await driver.updateUser(next))) throw new NotFoundError();
      // A reset link sent before the change must not undo it: every outstanding one is void.
      try {
        await driver.updateAccount(user.id, (a) => ({ account: withoutResetTokens(a), result: undefined }));
      } catch (e) {
        if (e instanceof UserGoneError) throw new NotFoundError();
        throw e;
      }
      return next;
    },

    /**
     * Checks a reset's new password against the sign-up rules without
     * storing anything: 400 `Can't create User: ...`, the words the contract
     * gives a reset (a password change says `Can't update User`).
     */
    checkNewPassword: (user: UserRecord, password: string) => checkPassword("create", password, user.email),

    /** An email as an email change accepts it (the sign-up rules), stored form; throws `InvalidInputError`. */
    checkNewEmail: (email: string) => checkEmail("update", email),

    /**
     * Another user whose email equals `email` case-insensitively (the rule
     * that makes an address taken), or null: whether `userId` may move there.
     */
    async otherHolder(email: string, userId: string): Promise<UserRecord | null> {
      if (!isStorableText(email)) return null;
      const other = (await driver.emailHolders(normalizeEmail(email))).find((id) => id !== userId);
      return other ? await driver.getUser(other) : null;
    },

    /**
     * Moves a user to a confirmed new address; `updated_at` moves. An
     * address another user took meanwhile: 400 `Can't update User: email
     * already exists`, nothing changed.
     */
    async changeEmail(user: UserRecord, email: string): Promise<UserRecord> {
      const next = { ...user, email, updated_at: formatTimestamp(now()) };
      let stored: boolean;
      try {
        stored = await driver.updateUser(next);
      } catch (e) {
        if (e instanceof DuplicateEmailError) throw new InvalidInputError("update", "email already exists");
        throw e;
      }
      if (!stored) throw new NotFoundError();
      return next;
    },

    /**
     * Checks an email and password: the first user with that email (the
     * original's rule for legacy duplicates), one hash's cost whether or not
     * the email exists, and a re-hash of legacy or weaker hashes on success
     * (only the hash changes: `updated_at` stays, the user did not change).
     * The user's account record (its second factor) comes too, read while
     * the password hashes, never after it: a login of a user without a
     * second factor takes no longer than it did before factors.
     */
    async checkWithAccount(email: string, password: string): Promise<{ user: UserRecord | null; account: AccountRecord | null }> {
      const user = await findByEmail(email);
      if (!user) {
        await hasher.burn(password);
        return { user: null, account: null };
      }
      const [checked, account] = await Promise.all([verify(user, password), driver.getAccount(user.id)]);
      return { user: checked, account };
    },

    /**
     * Marks the user changed (`updated_at` moves) after a change of its
     * account record that every process must notice at once: turning a
     * second factor on or off (each process's Basic credential cache checks
     * the user record it reads on every hit). The stamp always differs from
     * the stored one, even within the second of the last change: a second
     * later than it when the clock has not moved past it yet.
     */
    async touch(user: UserRecord): Promise<void> {
      const current = await driver.getUser(user.id);
      if (!current) return;
      const last = parseTimestamp(current.updated_at);
      const at = Number.isNaN(last) ? now() : Math.max(now(), Math.floor(last / 1000) * 1000 + 1000);
      await driver.updateUser({ ...current, updated_at: formatTimestamp(at) });
    },

    /** Checks the password of a known user (a password change), re-hashing as `checkWithAccount` does. */
    verifyPassword: (user: UserRecord, password: string) => verify(user, password),

    /** The user's account record (admin grant, verified flag, tokens, second factors), or null. */
    account: (userId: string) => driver.getAccount(userId),
    /** Every account record (one read, for a list of users). */
    accounts: () => driver.listAccounts(),

    /**
     * Grants (or revokes) admin rights, for the address the user has now: a
     * grant is the operator's proof that the user owns it. Only the CLI calls
     * this; no route does. Resolves to the record stored.
     */
    async setAdmin(user: UserRecord, granted: boolean): Promise<AccountRecord> {
      const grant = granted
        ? { admin_granted_at: formatTimestamp(now()), admin_email: (user.email ?? "").toLowerCase() }
        : { admin_granted_at: null, admin_email: null };
      try {
        // One atomic change of the admin fields alone: a token issued or a
        // second factor enrolled meanwhile is kept.
        return await driver.updateAccount(user.id, (current) => {
          const next: AccountRecord = { ...current, ...grant };
          return { account: next, result: next };
        });
      } catch (e) {
        if (e instanceof UserGoneError) throw new NotFoundError();
        throw e;
      }
    },

    async delete(id: string): Promise<boolean> {
      const deleted = await driver.deleteUser(id);
      if (deleted) await onDelete?.(id);
      return deleted;
    },
  };
}

export type UsersRepo = ReturnType<typeof createUsersRepo>;
