import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPasswordHasher } from "../../src/auth/password.ts";
import type { UserRecord } from "../../src/domain/records.ts";
import { serializeUsers, USER_FILE } from "../../src/storage/data-files/format.ts";

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

const cache = new Map<number, string>();
/** Writes a seed `.db_User.json` of `n` users into `dir` (the text is built once per size). */
export async function writeSeed(dir: string, n: number): Promise<void> {
  if (!cache.has(n)) cache.set(n, await usersFileText(n));
  writeFileSync(join(dir, USER_FILE), cache.get(n)!);
}

export function basicHeader(): string {
  return "Basic " + Buffer.from(`${BENCH_USER.email}:${BENCH_USER.password}`).toString("base64");
}
