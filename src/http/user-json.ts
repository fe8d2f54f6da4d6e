import type { AccountRecord } from "../domain/accounts.ts";
import { toUserJson, type UserJson, type UserRecord } from "../domain/records.ts";
import type { UsersRepo } from "../repos/users.ts";

/** A user's JSON while EMAIL_VERIFICATION is on: the original's keys, then whether the address is verified. */
export type VerifiedUserJson = UserJson & { email_verified: boolean };

/**
 * The user JSON every route answers. With EMAIL_VERIFICATION off it is
 * exactly the original's (no extra read); otherwise it gains a last key,
 * `email_verified`, read from the account record (one read per user, one
 * list of records per list of users). A record without the field (a user
 * from before verification was turned on) counts as verified.
 */
export function createUserView(users: UsersRepo, verification: "off" | "optional" | "required") {
  const on = verification !== "off";
  const withFlag = (u: UserRecord, a: AccountRecord | null | undefined): VerifiedUserJson => ({
    ...toUserJson(u),
    email_verified: a?.email_verified !== false,
  });
  return {
    /** One user; `account` when the caller has read it already. */
    async one(u: UserRecord, account?: AccountRecord | null): Promise<UserJson | VerifiedUserJson> {
      if (!on) return toUserJson(u);
      return withFlag(u, account !== undefined ? account : await users.account(u.id));
    },
    async list(list: UserRecord[]): Promise<(UserJson | VerifiedUserJson)[]> {
      if (!on) return list.map(toUserJson);
      const accounts = new Map((await users.accounts()).map((a) => [a.user_id, a]));
      return list.map((u) => withFlag(u, accounts.get(u.id)));
    },
  };
}

export type UserView = ReturnType<typeof createUserView>;
