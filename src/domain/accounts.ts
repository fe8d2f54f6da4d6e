import { parseTimestamp } from "./records.ts";

/**
 * Per-user state of ours, kept beside the user record rather than in it:
 * the original's `.db_User.json` entries keep exactly the original's keys,
 * so its code can still read every data folder we write. Every piece of
 * per-user state (admin grant, verified address, one-time tokens, second
 * factors) is a field here, not another record type, and every change to
 * it goes through `StorageDriver.updateAccount`, one atomic
 * read-change-write, so that concurrent flows never lose each other's
 * changes and single-use things (tokens, TOTP steps, recovery codes) are
 * used once.
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
  /**
   * false: the user's address awaits verification (a sign-up made while
   * EMAIL_VERIFICATION was on); true: verified through a link or by the
   * CLI; null: never tracked, which counts as verified, so that turning
   * verification on never locks out the users that already exist.
   */
  email_verified: boolean | null;
  /** Outstanding one-time tokens (reset, verification, email change), hashed. */
  tokens: OneTimeToken[];
  /** The TOTP factor, pending (unconfirmed) or active; null: none. */
  totp: TotpFactor | null;
  /** Registered passkeys (WebAuthn credentials), oldest first. */
  passkeys: PasskeyRecord[];
};

export type TokenPurpose = "reset" | "verify" | "email_change";

/** A one-time token: only its hash is kept, bound to its user (the record) and purpose. */
export type OneTimeToken = {
  purpose: TokenPurpose;
  /** Hex SHA-256 of the secret part of the token. */
  hash: string;
  /** When it was issued and when it stops working (timestamps in the original's format). */
  created_at: string;
  expires_at: string;
  /** The address it confirms: the new address for an email change, the address verified for "verify"; null for "reset". */
  email: string | null;
};

export type TotpFactor = {
  /** The base32 secret, sealed by the secret box under SECRET_KEY (`v1.<iv>.<ciphertext>`). */
  secret: string;
  /** When the first code confirmed it; null: enrolment pending (not asked at login). */
  confirmed_at: string | null;
  /** The last time step a code was accepted at (codes are single use); null: none yet. */
  last_step: number | null;
  /** Hex SHA-256 hashes of the unused recovery codes. */
  recovery_codes: string[];
};

export type PasskeyRecord = {
  /** The credential id, base64url. */
  id: string;
  /** The credential's COSE public key, base64url. */
  public_key: string;
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number;
  /** Transports the authenticator reported (`internal`, `usb`, …), passed back in options. */
  transports: string[];
  name: string;
  created_at: string;
  last_used_at: string | null;
};

/** An account record without any state: what a user with no record has. */
export function emptyAccount(userId: string): AccountRecord {
  return {
    user_id: userId,
    admin_granted_at: null,
    admin_email: null,
    email_verified: null,
    tokens: [],
    totp: null,
    passkeys: [],
  };
}

const textOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const isText = (v: unknown): v is string => typeof v === "string";
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const PURPOSES: readonly string[] = ["reset", "verify", "email_change"];

function tokenOf(o: unknown): OneTimeToken | null {
  if (!isObject(o)) return null;
  const { purpose, hash, created_at, expires_at } = o;
  const email = o.email ?? null;
  if (!isText(purpose) || !PURPOSES.includes(purpose) || !isText(hash) || !isText(created_at) || !isText(expires_at)) return null;
  if (!textOrNull(email)) return null;
  return { purpose: purpose as TokenPurpose, hash, created_at, expires_at, email };
}

function totpOf(o: unknown): TotpFactor | null | undefined {
  if (o === null || o === undefined) return null;
  if (!isObject(o)) return undefined;
  const confirmed = o.confirmed_at ?? null;
  const step = o.last_step ?? null;
  const codes = o.recovery_codes ?? [];
  if (!isText(o.secret) || !textOrNull(confirmed)) return undefined;
  if (step !== null && !Number.isSafeInteger(step)) return undefined;
  if (!Array.isArray(codes) || !codes.every(isText)) return undefined;
  return { secret: o.secret, confirmed_at: confirmed, last_step: step as number | null, recovery_codes: [...codes] };
}

function passkeyOf(o: unknown): PasskeyRecord | null {
  if (!isObject(o)) return null;
  const { id, public_key, counter, name, created_at } = o;
  const transports = o.transports ?? [];
  const used = o.last_used_at ?? null;
  if (!isText(id) || id === "" || !isText(public_key) || !isText(name) || !isText(created_at) || !textOrNull(used)) return null;
  if (!Number.isSafeInteger(counter) || (counter as number) < 0) return null;
  if (!Array.isArray(transports) || !transports.every(isText)) return null;
  return { id, public_key, counter: counter as number, transports: [...transports], name, created_at, last_used_at: used };
}

/**
 * The one shape check of a stored account record (journal lines, data files,
 * KV values, database rows, import sources): a copy with exactly the known
 * keys, or null. Fields added after a record was written (a record from
 * before email verification or second factors) take their empty values.
 */
export function accountRecord(o: unknown): AccountRecord | null {
  if (!isObject(o)) return null;
  const r = o;
  if (typeof r.user_id !== "string" || r.user_id === "") return null;
  const granted = r.admin_granted_at ?? null;
  const email = r.admin_email ?? null;
  const verified = r.email_verified ?? null;
  if (!textOrNull(granted) || !textOrNull(email)) return null;
  if (verified !== null && typeof verified !== "boolean") return null;
  const rawTokens = r.tokens ?? [];
  const rawKeys = r.passkeys ?? [];
  if (!Array.isArray(rawTokens) || !Array.isArray(rawKeys)) return null;
  const tokens = rawTokens.map(tokenOf);
  const passkeys = rawKeys.map(passkeyOf);
  const totp = totpOf(r.totp);
  if (totp === undefined || tokens.includes(null) || passkeys.includes(null)) return null;
  return {
    user_id: r.user_id,
    admin_granted_at: granted,
    admin_email: email,
    email_verified: verified,
    tokens: tokens as OneTimeToken[],
    totp,
    passkeys: passkeys as PasskeyRecord[],
  };
}

/** The record without its expired tokens (`now` in ms since the epoch). */
export function withoutExpiredTokens(a: AccountRecord, now: number): AccountRecord {
  const live = a.tokens.filter((t) => parseTimestamp(t.expires_at) > now);
  return live.length === a.tokens.length ? a : { ...a, tokens: live };
}

/** The account without any reset token (null: it had none): a password change voids the links sent before it. */
export function withoutResetTokens(account: AccountRecord): AccountRecord | null {
  return account.tokens.some((t) => t.purpose === "reset")
    ? { ...account, tokens: account.tokens.filter((t) => t.purpose !== "reset") }
    : null;
}

/** Whether the user has a confirmed second factor (TOTP): login then needs a code, and Basic auth is refused. */
export function hasSecondFactor(a: AccountRecord | null): boolean {
  return a !== null && a.totp !== null && a.totp.confirmed_at !== null;
}

/**
 * Whether a user is an admin: its email is one of `adminEmails` (lower-cased),
 * compared in any case, AND its ownership of that address is proven by a
 * grant made for this very address. Signing up with an admin's address (or
 * with a spelling that lower-cases to it) proves nothing, so such an account
 * is a plain user.
 */
export function isProvenAdmin(email: string | null, account: AccountRecord | null, adminEmails: ReadonlySet<string>): boolean {
  if (email === null || account === null || account.admin_granted_at === null) return false;
  const lower = email.toLowerCase();
  return adminEmails.has(lower) && account.admin_email === lower;
}
