/**
 * The storage part of a create, without HTTP and without PBKDF2: opens the
 * file driver (src/storage/file/index.ts `openFileDriver`) on a seeded data folder
 * and calls `createUser` one at a time with a ready-made record, timing each
 * call (journal append + fdatasync + in-memory index). Prints one JSON line:
 * `{"openMs", "closeMs", "latenciesMs": [...]}` or `{"unavailable": why}`.
 *
 *   <runtime> bench/store-create.ts <dir> <maxCreates> <maxSeconds>
 *
 * Bounded by both count and time. The driver is imported dynamically so this
 * script (and the bench) still runs, and says so, while the driver is absent
 * or its export is renamed.
 */
import process from "node:process";
import type { UserRecord } from "../src/domain/records.ts";

type Driver = { createUser(u: UserRecord): Promise<void>; close(): Promise<void> };
type Open = (o: { dir: string; pid: number; log?: (l: string) => void }) => Promise<Driver>;

const [dir, maxCreatesText, maxSecondsText] = process.argv.slice(-3);
const maxCreates = Number(maxCreatesText) || 100;
const maxMs = (Number(maxSecondsText) || 3) * 1000;
const print = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");

let open: Open | undefined;
try {
  open = ((await import("../src/storage/file/index.ts")) as { openFileDriver?: Open }).openFileDriver;
} catch (e) {
  print({ unavailable: `cannot import src/storage/file/index.ts: ${(e as Error).message}` });
  process.exit(0);
}
if (typeof open !== "function") {
  print({ unavailable: "src/storage/file/index.ts has no openFileDriver export" });
  process.exit(0);
}

const t0 = performance.now();
const driver = await open({ dir, pid: process.pid, log: (l) => process.stderr.write(l + "\n") });
const openMs = performance.now() - t0;

// A realistic record; the hash string has the size of a real PBKDF2 one.
const hash = `pbkdf2_sha256$600000$${"A".repeat(22)}==$${"B".repeat(43)}=`;
const latenciesMs: number[] = [];
const deadline = performance.now() + maxMs;
for (let i = 0; i < maxCreates && performance.now() < deadline; i++) {
  const ts = new Date().toISOString().slice(0, 19);
  const user: UserRecord = {
    id: crypto.randomUUID(),
    created_at: ts,
    updated_at: ts,
    email: `direct${i}@bench.io`,
    _password: hash,
    first_name: "Direct",
    last_name: `N${i}`,
  };
  const t = performance.now();
  await driver.createUser(user);
  latenciesMs.push(performance.now() - t);
}

// Close writes the final snapshot of every user: a cost paid at shutdown, reported apart.
const t1 = performance.now();
await driver.close();
print({ openMs, closeMs: performance.now() - t1, latenciesMs });
process.exit(0);
