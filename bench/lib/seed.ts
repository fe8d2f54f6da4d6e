import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPasswordHasher } from "../../src/auth/password.ts";
import type { SessionRecord, UserRecord } from "../../src/domain/records.ts";
import { serializeSessions, serializeUsers, SESSION_FILE, USER_FILE } from "../../src/storage/data-files/format.ts";

/**
 * Data folders for the bench, written the way the original project writes
 * them (`.db_User.json`, Python `json.dump` format, via the service's own
 * serializer), so the service loads them exactly as it loads real data.
 */

export const BENCH_USER = { id: "5c8d5c0c-1b5a-4b7e-9a45-1f1a0f6c8a11", email: "bench@hbtn.io", password: "H0lbertonSchool98!" };

let benchHash: Promise<string> | null = null;
/** One real PBKDF2 hash (600k iterations), computed once: login and Basic auth verify against it. */
export function benchPasswordHash(): Promise<string> {
  benchHash ??= createPasswordHasher().hash(BENCH_USER.password);
  return benchHash;
}

/**
 * `.db_User.json` text with the bench user first and `n - 1` fillers. The
 * fillers share the bench user's hash string: same size at rest as real
 * users, without paying 100k PBKDF2 runs to build the file.
 */
export async function usersFileText(n: number): Promise<string> {
  const hash = await benchPasswordHash();
  const ts = "2024-03-01T10:00:00";
  const users: UserRecord[] = [
    { id: BENCH_USER.id, created_at: ts, updated_at: ts, email: BENCH_USER.email, _password: hash, first_name: "Bench", last_name: "Mark" },
  ];
  for (let i = 1; i < n; i++) {
    const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
    users.push({
      id,
      created_at: ts,
      updated_at: ts,
      email: `user${i}@bench.io`,
      _password: hash,
      first_name: `First${i}`,
      last_name: `Last${i}`,
    });
  }
  return serializeUsers(users);
}

/**
 * `.db_UserSession.json` text with one session for each of the first
 * `n / 10` filler users: the two files a real folder holds, in the original's
 * format (`session_id` is the SHA-256 of a token, as the service stores it).
 */
export function sessionsFileText(n: number): string {
  const ts = "2024-03-01T10:00:00";
  const sessions: SessionRecord[] = [];
  for (let i = 1; i <= Math.floor(n / 10); i++) {
    const hex = i.toString(16).padStart(12, "0");
    sessions.push({
      id: `10000000-0000-4000-8000-${hex}`,
      created_at: ts,
      updated_at: ts,
      user_id: `00000000-0000-4000-8000-${hex}`,
      session_id: hex.padStart(64, "a"),
    });
  }
  return serializeSessions(sessions);
}

const cache = new Map<number, [string, string]>();
/** Writes seed `.db_User.json` (`n` users) and `.db_UserSession.json` (`n / 10` sessions) into `dir`; texts built once per size. */
export async function writeSeed(dir: string, n: number): Promise<void> {
  if (!cache.has(n)) cache.set(n, [await usersFileText(n), sessionsFileText(n)]);
  const [users, sessions] = cache.get(n)!;
  writeFileSync(join(dir, USER_FILE), users);
  writeFileSync(join(dir, SESSION_FILE), sessions);
}

export function basicHeader(): string {
  return "Basic " + Buffer.from(`${BENCH_USER.email}:${BENCH_USER.password}`).toString("base64");
}
