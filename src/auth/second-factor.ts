import { type AccountRecord, hasSecondFactor, type TotpFactor } from "../domain/accounts.ts";
import { formatTimestamp } from "../domain/records.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { createSecretBox, type SecretBox } from "./secret-box.ts";
import { acceptTotp, newRecoveryCodes, newTotpSecret, recoveryCodeHash, totpUrl } from "./totp.ts";

/**
 * The second factor (TOTP with recovery codes) of an account: enrolment,
 * confirmation, removal, and the check a login runs after a right
 * password. Every change is one `updateAccount` (atomic per user): a TOTP
 * step and a recovery code are spent in the same write that checks them,
 * so two requests (two processes on kv or postgres) carrying one code
 * cannot both succeed.
 */

/** Enrolment needs SECRET_KEY (secrets are stored sealed under it); answered 503. */
export class SecondFactorUnavailableError extends Error {
  constructor(detail: string) {
    super(`Second factors are unavailable: ${detail}`);
    this.name = "SecondFactorUnavailableError";
  }
}

/** A Basic check of a user with a second factor: refused, since Basic carries no code. */
export class SecondFactorRequiredError extends Error {
  readonly userId: string;
  constructor(userId: string) {
    super("second factor required");
    this.name = "SecondFactorRequiredError";
    this.userId = userId;
  }
}

export type SecondFactorOptions = {
  driver: StorageDriver;
  /** SECRET_KEY; null: nothing can be enrolled (and nobody has a factor: the startup checks it). */
  secretKey: string | null;
  now: () => number;
  /** The issuer an authenticator app shows beside the account. */
  issuer: string;
};

/** What a login's code did: spent a TOTP step or a recovery code, or nothing (wrong, used, or missing). */
export type CodeOutcome = "totp" | "recovery" | "invalid" | "missing";

/** The factors of an account, as `GET /users/me/factors` shows them. */
export type FactorsView = { totp: boolean; recovery_codes_left: number; passkeys: number };

/** A code as users type it: spaces and dashes do not matter. */
const TOTP_SHAPE = /^\d{6}$/;
const compact = (code: string) => code.replace(/[\s-]/g, "");

/** What `GET /users/me/factors` shows of an account record (a pending TOTP counts as off). */
export function factorsOf(account: AccountRecord | null): FactorsView {
  const active = hasSecondFactor(account);
  return {
    totp: active,
    recovery_codes_left: active ? account!.totp!.recovery_codes.length : 0,
    passkeys: account?.passkeys.length ?? 0,
  };
}

/**
 * The second factors over a storage driver. SECRET_KEY is turned into the
 * secret box at the first use, so that building the app stays synchronous.
 *
 * @example const factors = createSecondFactors({ driver, secretKey: config.secretKey, now: Date.now, issuer: "session-auth-api" }); */
export function createSecondFactors({ driver, secretKey, now, issuer }: SecondFactorOptions) {
  let box: Promise<SecretBox> | null = null;
  const boxOf = (): Promise<SecretBox> => {
    if (secretKey === null) throw new SecondFactorUnavailableError("SECRET_KEY is not set on this server");
    return (box ??= createSecretBox(secretKey, "totp"));
  };
  async function open(totp: TotpFactor): Promise<string> {
    const plain = await (await boxOf()).open(totp.secret);
    // The startup refuses a SECRET_KEY that does not open the stored secrets; another process may have used another key.
    if (plain === null) throw new SecondFactorUnavailableError("a stored secret does not open under this server's SECRET_KEY");
    return plain;
  }
  /** Spends the TOTP step `step` of the factor sealed as `sealed`, unless a newer or equal one was spent meanwhile. */
  const spendStep = (userId: string, sealed: string, step: number, confirm: string[] | null) =>
    driver.updateAccount(userId, (current) => {
      const t = current.totp;
      if (!t || t.secret !== sealed || (t.last_step !== null && step <= t.last_step)) return { account: null, result: false };
      if ((confirm !== null) !== (t.confirmed_at === null)) return { account: null, result: false };
      const totp: TotpFactor = confirm === null
        ? { ...t, last_step: step }
        : { ...t, last_step: step, confirmed_at: formatTimestamp(now()), recovery_codes: confirm };
      return { account: { ...current, totp }, result: true };
    });

  return {
    /** Whether enrolment is possible here (SECRET_KEY set). */
    available: secretKey !== null,

    /** A new pending secret (replacing a pending one); null when a confirmed TOTP exists (remove it first). */
    async enrol(userId: string, email: string): Promise<{ secret: string; otpauth_url: string } | null> {
      const secret = newTotpSecret();
      const sealed = await (await boxOf()).seal(secret);
      const stored = await driver.updateAccount(userId, (current) => {
        if (hasSecondFactor(current)) return { account: null, result: false };
        return { account: { ...current, totp: { secret: sealed, confirmed_at: null, last_step: null, recovery_codes: [] } }, result: true };
      });
      return stored ? { secret, otpauth_url: totpUrl(secret, email, issuer) } : null;
    },

    /**
     * Confirms a pending enrolment with a first code: the recovery codes
     * (shown once; only hashes are kept), or "none" (nothing pending),
     * "active" (already confirmed), "invalid" (wrong code).
     */
    async confirm(userId: string, code: string): Promise<string[] | "none" | "active" | "invalid"> {
      const t = (await driver.getAccount(userId))?.totp ?? null;
      if (!t) return "none";
      if (t.confirmed_at !== null) return "active";
      const step = acceptTotp(await open(t), compact(code), now(), t.last_step);
      if (step === null) return "invalid";
      const { codes, hashes } = newRecoveryCodes();
      return (await spendStep(userId, t.secret, step, hashes)) ? codes : "invalid";
    },

    /**
     * The check of a login whose password was right, for an account with a
     * confirmed TOTP: a 6-digit code spends its step, anything else is
     * tried as a recovery code, which is removed. Each at most once.
     */
    async check(userId: string, account: AccountRecord, code: string | undefined): Promise<CodeOutcome> {
      if (!code) return "missing";
      const typed = compact(code);
      const t = account.totp!;
      if (TOTP_SHAPE.test(typed)) {
        const step = acceptTotp(await open(t), typed, now(), t.last_step);
        return step !== null && (await spendStep(userId, t.secret, step, null)) ? "totp" : "invalid";
      }
      // Not 6 digits: a recovery code, or nothing. Its hash never matches by chance (49 random bits).
      const hash = recoveryCodeHash(typed);
      const spent = await driver.updateAccount(userId, (current) => {
        const c = current.totp;
        if (!c || c.confirmed_at === null || !c.recovery_codes.includes(hash)) return { account: null, result: false };
        return { account: { ...current, totp: { ...c, recovery_codes: c.recovery_codes.filter((h) => h !== hash) } }, result: true };
      });
      return spent ? "recovery" : "invalid";
    },

    /** Removes the TOTP factor (pending or active); false when there was none. */
    disable: (userId: string) =>
      driver.updateAccount(
        userId,
        (current) => current.totp ? { account: { ...current, totp: null }, result: true } : { account: null, result: false },
      ),

    /** Removes every factor (TOTP and passkeys): what was there before. */
    reset: (userId: string) =>
      driver.updateAccount(userId, (current) => {
        const before = factorsOf(current);
        const had = current.totp !== null || current.passkeys.length > 0;
        return { account: had ? { ...current, totp: null, passkeys: [] } : null, result: before };
      }),
  };
}

export type SecondFactors = ReturnType<typeof createSecondFactors>;
