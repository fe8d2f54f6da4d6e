import type { AccountRecord } from "../domain/accounts.ts";
import { hasSecondFactor } from "../domain/accounts.ts";
import type { UserRecord } from "../domain/records.ts";
import type { CodeOutcome, SecondFactors } from "../auth/second-factor.ts";

/** Why a login with a right password was refused: the code was missing or wrong. */
export type FactorRefusal = { userId: string; reason: "second factor required" | "invalid code" };

/**
 * The one place a password login meets the second factor: after the
 * password proved right (never before, so that the answer "second factor
 * required" tells nothing to someone without the password) and before a
 * session is made. `check` wraps the throttled password check and returns
 * the user only when the whole login succeeds, so that the throttle
 * refunds its advance count only then. A user without a second factor
 * passes at once: their account record was read while the password
 * hashed.
 *
 * @example const factor = loginFactor(factors, form.get("code"));
 *          const user = await factor.check(users.checkWithAccount(email, password));
 *          if (factor.refused) throw new HttpError(401, factor.refused.reason);
 */
export function loginFactor(factors: SecondFactors, code: string | undefined) {
  const state = {
    /** Set when the password was right but the code was not. */
    refused: null as FactorRefusal | null,
    /** What the code spent, when one was needed and right. */
    used: null as Exclude<CodeOutcome, "invalid" | "missing"> | null,
    /** The account record read with the password check (null: the user has none), for the steps after it. */
    account: null as AccountRecord | null,
    async check(checked: Promise<{ user: UserRecord | null; account: AccountRecord | null }>): Promise<UserRecord | null> {
      const { user, account } = await checked;
      state.account = account;
      if (!user || !hasSecondFactor(account)) return user;
      const outcome = await factors.check(user.id, account!, code);
      if (outcome === "missing" || outcome === "invalid") {
        state.refused = { userId: user.id, reason: outcome === "missing" ? "second factor required" : "invalid code" };
        return null;
      }
      state.used = outcome;
      return user;
    },
  };
  return state;
}
