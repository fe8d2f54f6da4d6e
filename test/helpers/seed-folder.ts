import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../src/lib/sha256.ts";

export const BOB = { id: "5c8d5c0c-1b5a-4b7e-9a45-1f1a0f6c8a11", email: "bob@hbtn.io", password: "H0lbertonSchool98!" };
export const LEGACY_SESSION = "2ab9d2f2-5c25-4b44-9d4e-0e4d1c5e0b7a";

/**
 * A data folder as the original Python project writes it: `json.dump` with
 * its default separators and ASCII escapes, unsalted SHA-256 hex passwords,
 * a user without a password, a duplicate email, an empty email, non-ASCII
 * names, and a session stored under its raw cookie value.
 */
export function writeOriginalDataFolder(dir = mkdtempSync(join(tmpdir(), "seed-"))): string {
  const users = {
    [BOB.id]: {
      id: BOB.id,
      created_at: "2024-03-01T10:00:00",
      updated_at: "2024-03-02T11:30:00",
      email: BOB.email,
      _password: sha256Hex(BOB.password),
      first_name: "Bob",
      last_name: "Dylan",
    },
    "u-null": {
      id: "u-null",
      created_at: "2024-03-01T10:00:01",
      updated_at: "2024-03-01T10:00:01",
      email: "nopass@hbtn.io",
      _password: null,
      first_name: null,
      last_name: null,
    },
    "u-dup": {
      id: "u-dup",
      created_at: "2024-03-01T10:00:02",
      updated_at: "2024-03-01T10:00:02",
      email: BOB.email,
      _password: sha256Hex("other-password"),
      first_name: "Second",
      last_name: "Bob",
    },
    "u-empty": {
      id: "u-empty",
      created_at: "2024-03-01T10:00:03",
      updated_at: "2024-03-01T10:00:03",
      email: "",
      _password: sha256Hex("x"),
      first_name: "Zoë",
      last_name: "日本",
    },
  };
  const sessions = {
    "s-1": { id: "s-1", created_at: "2024-03-01T12:00:00", updated_at: "2024-03-01T12:00:00", user_id: BOB.id, session_id: LEGACY_SESSION },
  };
  writeFileSync(join(dir, ".db_User.json"), pyDump(users));
  writeFileSync(join(dir, ".db_UserSession.json"), pyDump(sessions));
  return dir;
}

/** `json.dump(obj, f)` of Python 3: ", " and ": " separators, non-ASCII as \uXXXX. */
export function pyDump(v: unknown): string {
  if (v === null || typeof v !== "object") {
    return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  }
  return "{" + Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyDump(k)}: ${pyDump(x)}`).join(", ") + "}";
}
