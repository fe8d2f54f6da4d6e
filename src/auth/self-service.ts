import type { AccountRecord, OneTimeToken, TokenPurpose } from "../domain/accounts.ts";
import { InvalidInputError, UserGoneError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/records.ts";
import type { MailMessage } from "../lib/outbox.ts";
import type { UsersRepo } from "../repos/users.ts";
import type { StorageDriver } from "../storage/driver.ts";
import type { Mailer } from "./mailer.ts";
import { addressTakenNotice, emailChangeMail, emailChangeNotice, passwordChangedMail, resetMail, verifyMail } from "./mail-texts.ts";
import { findToken, issueToken, readToken, withoutToken, withToken } from "./one-time-tokens.ts";
import type { RateLimit } from "./rate-limit.ts";

/**
 * The self-service flows (password reset, email verification, email
 * change) over the users repo, the account records and the mailer, free of
 * HTTP. Every secret is a one-time token (one-time-tokens.ts); every change
 * a token makes happens in the same atomic `updateAccount` that uses it up.
 */
export type SelfServiceOptions = {
  driver: StorageDriver;
  users: UsersRepo;
  mailer: Mailer;
  /** At most a few emails per account an hour, counted in the shared counters. */
  mailCap: RateLimit;
  now: () => number;
  passwordResetTtl: number;
  emailVerificationTtl: number;
  /** Ends every session of a user (a reset: whoever knew the old password is out). */
  endSessions: (userId: string) => Promise<unknown>;
};

/** A token that is unknown, used, expired, for another purpose or malformed: one answer for all. */
export class BadTokenError extends Error {
  constructor() {
    super("invalid or expired token");
    this.name = "BadTokenError";
  }
}

/** A user id that no account has, for the token made when an email has no account (the same work either way). */
const NOBODY = "00000000-0000-0000-0000-000000000000";

/**
 * The flows over one storage.
 *
 * @example const flows = createSelfService({ driver, users, mailer, mailCap, now: Date.now, passwordResetTtl: 3600, emailVerificationTtl: 86400, endSessions });
 *          await flows.requestReset("bob@hbtn.io");
 */
export function createSelfService(o: SelfServiceOptions) {
  const { driver, users, mailer } = o;

  /** Uses up a token of one of `purposes` atomically, applying `change` to the account; the token used, or BadTokenError. */
  async function useToken(
    token: unknown,
    purposes: readonly TokenPurpose[],
    change: (a: AccountRecord, t: OneTimeToken) => AccountRecord = (a) => a,
  ): Promise<{ user: UserRecord; used: OneTimeToken }> {
    const named = readToken(token);
    const user = named ? await users.get(named.userId) : null;
    if (!named || !user) throw new BadTokenError();
    const find = (a: AccountRecord) => purposes.map((p) => findToken(a, p, named.hash, o.now())).find((t) => t !== null) ?? null;
    try {
      const used = await driver.updateAccount(user.id, (a) => {
        const t = find(a);
        return t ? { account: change(withoutToken(a, t, o.now()), t), result: t } : { account: null, result: null };
      });
      if (!used) throw new BadTokenError();
      return { user, used };
    } catch (e) {
      if (e instanceof UserGoneError) throw new BadTokenError();
      throw e;
    }
  }

  /** Stores a new token of `purpose` for `user` (confirming `email`) and gives back its link; null when the account's email cap is reached. */
  async function newLink(user: UserRecord, purpose: TokenPurpose, email: string | null, ttl: number): Promise<string | null> {
    if ((await o.mailCap.take(user.id)) > 0) return null;
    const issued = issueToken(user.id, purpose, email, o.now(), ttl);
    try {
      await driver.updateAccount(user.id, (a) => ({ account: withToken(a, issued.record, o.now()), result: undefined }));
    } catch (e) {
      if (e instanceof UserGoneError) return null;
      throw e;
    }
    return mailer.link(purpose === "reset" ? "reset" : "verify", issued.token);
  }

  return {
    /**
     * "Forgot password": the same work and answer whether or not `email`
     * has an account (the lookup, a token made and hashed); what only an
     * account costs runs after the answer (see mailer.ts).
     */
    async requestReset(email: string): Promise<string | null> {
      const user = await users.findByEmail(email);
      // Made either way: its cost must not tell whether the account exists.
      issueToken(user?.id ?? NOBODY, "reset", null, o.now(), o.passwordResetTtl);
      if (!user?.email) return null;
      const to = user.email;
      mailer.later("password reset email", async () => {
        const link = await newLink(user, "reset", null, o.passwordResetTtl);
        return link ? [resetMail(to, user.id, link, o.passwordResetTtl)] : [];
      });
      return user.id;
    },

    /**
     * Sets a new password with a reset token: the password rules first (a
     * weak password does not burn the link), then the token is used up
     * (with every other reset token of the user), the password replaced,
     * every session ended, and the user told.
     */
    async confirmReset(token: unknown, password: string): Promise<UserRecord> {
      const named = readToken(token);
      const before = named ? await users.get(named.userId) : null;
      const account = before ? await driver.getAccount(before.id) : null;
      if (!before || !named || !account || !findToken(account, "reset", named.hash, o.now())) throw new BadTokenError();
      await users.checkNewPassword(before, password);
      const { user } = await useToken(token, ["reset"]);
      const changed = await users.changePassword(user, password);
      await o.endSessions(user.id);
      if (changed.email) {
        const to = changed.email;
        mailer.later("password changed notice", () => Promise.resolve([passwordChangedMail(to, user.id)]));
      }
      return changed;
    },

    /**
     * Uses a verification or email change token. A verification holds only
     * for the address it was sent to; an email change takes effect now, if
     * the address is still free, and an admin grant (made for the old
     * address) lapses.
     */
    async verifyEmail(token: unknown): Promise<{ user: UserRecord; changed: boolean }> {
      const named = readToken(token);
      const current = named ? await users.get(named.userId) : null;
      const account = current && named ? await driver.getAccount(current.id) : null;
      const pending = account && named ? findToken(account, "email_change", named.hash, o.now()) : null;
      if (pending?.email) {
        if (await users.otherHolder(pending.email, current!.id)) throw new InvalidInputError("update", "email already exists");
      }
      const sameAddress = (t: OneTimeToken, u: UserRecord) => (t.email ?? "").toLowerCase() === (u.email ?? "").toLowerCase();
      const { user, used } = await useToken(token, ["verify", "email_change"], (a, t) => {
        // A link sent to an address the account no longer has proves nothing about the one it has.
        if (t.purpose === "verify") return sameAddress(t, current!) ? { ...a, email_verified: true } : a;
        return { ...a, email_verified: true, admin_granted_at: null, admin_email: null };
      });
      if (used.purpose === "verify") {
        if (!sameAddress(used, current!)) throw new BadTokenError();
        return { user, changed: false };
      }
      return { user: await users.changeEmail(user, used.email!), changed: true };
    },

    /** Marks a new account unverified and sends it a verification link (when email is configured). */
    async startVerification(user: UserRecord): Promise<void> {
      const issued = issueToken(user.id, "verify", user.email, o.now(), o.emailVerificationTtl);
      const send = mailer.configured && user.email !== null;
      await driver.updateAccount(user.id, (a) => ({
        account: send ? withToken({ ...a, email_verified: false }, issued.record, o.now()) : { ...a, email_verified: false },
        result: undefined,
      }));
      if (!send) return;
      const message = verifyMail(user.email!, user.id, mailer.link("verify", issued.token), o.emailVerificationTtl);
      mailer.later("verification email", () => Promise.resolve([message]));
    },

    /** A new verification link for the user's current address (at most the account's email cap an hour). */
    async resendVerification(user: UserRecord): Promise<void> {
      if (!user.email) return;
      const link = await newLink(user, "verify", user.email, o.emailVerificationTtl);
      if (link) mailer.later("verification email", () => Promise.resolve([verifyMail(user.email!, user.id, link, o.emailVerificationTtl)]));
    },

    /**
     * An email change asked for by the logged-in user (whose password was
     * checked): a link to the new address, a notice to the old one. An
     * address another account has gets a notice only, and the asker sees
     * the same answer (no enumeration of addresses).
     */
    requestEmailChange(user: UserRecord, address: string): void {
      const old = user.email;
      mailer.later("email change", async () => {
        const holder = await users.otherHolder(address, user.id);
        const notice: MailMessage[] = old ? [emailChangeNotice(old, user.id, address)] : [];
        if (holder) {
          return (await o.mailCap.take(user.id)) > 0 ? [] : [addressTakenNotice(holder.email ?? address, holder.id), ...notice];
        }
        const link = await newLink(user, "email_change", address, o.emailVerificationTtl);
        return link ? [emailChangeMail(address, user.id, link, o.emailVerificationTtl), ...notice] : [];
      });
    },
  };
}

export type SelfService = ReturnType<typeof createSelfService>;
