import { join } from "node:path";
import { StartupError } from "../../domain/errors.ts";
import { type AccountRecord, accountRecord } from "../../domain/accounts.ts";
import { errCode, errText } from "../../lib/errors.ts";
import type { FsLike } from "../fs.ts";
import { parseObject } from "./format.ts";

/**
 * `.db_UserAccount.json`: our per-user state (admin grant, verified flag,
 * one-time token hashes, the sealed TOTP secret, passkeys), one JSON object
 * keyed by user id, beside the original's two files. A file of its own, so
 * that `.db_User.json` keeps exactly the original's keys and the original's
 * code still reads a folder we wrote (it ignores this file).
 */
export const ACCOUNT_FILE = ".db_UserAccount.json";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses the text of the accounts file; `file` names it in errors. Never repaired: a bad file stops startup. */
export function parseAccounts(text: string, file: string): AccountRecord[] {
  const data = parseObject(text, file, "user id");
  const out: AccountRecord[] = [];
  for (const [key, value] of Object.entries(data)) {
    const a = accountRecord(value);
    // A grant is a security decision: an entry we cannot read is not guessed at.
    if (!a || a.user_id !== key) {
      throw new StartupError(`Cannot load ${file}: entry "${key}" is not an account record; the file was left untouched`);
    }
    out.push(a);
  }
  return out;
}

/** The accounts file's text for `accounts` (the writer of data files slices it). */
export function serializeAccounts(accounts: Iterable<AccountRecord>): string {
  const parts: string[] = [];
  for (const a of accounts) parts.push(`${JSON.stringify(a.user_id)}: ${JSON.stringify(a)}`);
  return `{${parts.join(", ")}}`;
}

/** The records of `dir`'s accounts file; none when there is no such file. */
export async function readAccountFile(fs: FsLike, dir: string): Promise<AccountRecord[]> {
  const path = join(dir, ACCOUNT_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    if (errCode(e) === "ENOENT") return [];
    throw new StartupError(`Cannot read ${path}: ${errText(e)}`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new StartupError(`Cannot parse ${path}: not valid UTF-8; the file was left untouched`);
  }
  return parseAccounts(text, path);
}
