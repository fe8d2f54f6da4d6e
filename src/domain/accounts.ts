/**
 * Per-user state of ours, kept beside the user record rather than in it:
 * the original's `.db_User.json` entries keep exactly the original's keys,
 * so its code can still read every data folder we write. Later per-user
 * state (a verified address, second factors) becomes more fields here, not
 * another record type.
 */
export type AccountRecord = {
  user_id: string;
  /**
   * When the CLI (a shell on the server: proof that the operator vouches for
   * the account) made this account an admin; null: never, or revoked.
   */
  admin_granted_at: string | null;
  /**
   * The lower-cased address the grant was made for. A grant proves the
   * ownership of that address only: were the account's email to change, the
   * new address would be a mere claim again.
   */
  admin_email: string | null;
};

/** An account record without any state: what a user with no record has. */
export function emptyAccount(userId: string): AccountRecord {
  return { user_id: userId, admin_granted_at: null, admin_email: null };
}

const textOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";

/**
 * The one shape check of a stored account record (journal lines, data files,
 * KV values, import sources): a copy with exactly the known keys, or null.
 */
export function accountRecord(o: unknown): AccountRecord | null {
  if (o === null || typeof o !== "object") return null;
  const r = o as Record<string, unknown>;
  if (typeof r.user_id !== "string" || r.user_id === "") return null;
  const granted = r.admin_granted_at ?? null;
  const email = r.admin_email ?? null;
  if (!textOrNull(granted) || !textOrNull(email)) return null;
  return { user_id: r.user_id, admin_granted_at: granted, admin_email: email };
}

/**
 * Whether a user is an admin: its email is one of `adminEmails` (lower-cased),
 * compared in any case, AND its ownership of that address is proven by a
 * grant made for this very address. Signing up with an admin's address (or
 * with a spelling that lower-cases to it) proves nothing, so such an account
 * is a plain user.
 *
 * The hook for email verification: once an address can be confirmed through
 * a link, an `email_verified` field holding the confirmed address (lower-cased)
 * counts as proof here too, compared the same way as `admin_email`.
 */
export function isProvenAdmin(email: string | null, account: AccountRecord | null, adminEmails: ReadonlySet<string>): boolean {
  if (email === null || account === null || account.admin_granted_at === null) return false;
  const lower = email.toLowerCase();
  return adminEmails.has(lower) && account.admin_email === lower;
}
