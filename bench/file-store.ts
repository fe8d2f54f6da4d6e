/**
 * The file driver alone (no HTTP, no PBKDF2): create latency at 1k, 10k and
 * 100k users, group commit under concurrency, a background compaction at
 * 100k (its duration and the longest event-loop stall it causes), and the
 * startup time and RSS of a fresh process opening 100k users, cleanly closed
 * or after a crash with a long journal.
 *
 *   node --import tsx bench/file-store.ts        (also: deno run -A ..., bun ...)
 *   <runtime> bench/file-store.ts open <dir>     (child: one cold open, prints JSON)
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { UserRecord } from "../src/domain/records.ts";
import { type FileDriver, openFileDriver } from "../src/storage/file/index.ts";

// The size of a real PBKDF2 hash string, so records weigh what real ones do.
const HASH = `pbkdf2_sha256$600000$${"A".repeat(22)}==$${"B".repeat(43)}=`;
const user = (i: number): UserRecord => ({
  id: crypto.randomUUID(),
  created_at: "2024-03-01T10:00:00",
  updated_at: "2024-03-01T10:00:00",
  email: `user${i}@bench.io`,
  _password: HASH,
  first_name: "Bench",
  last_name: `Number ${i}`,
});
const open = (dir: string) => openFileDriver({ dir, pid: process.pid });
const ms = (x: number) => `${x.toFixed(2)} ms`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

if (process.argv.at(-2) === "open") {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const d = await open(process.argv.at(-1)!);
  const openMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000; // apart from wall time: the bench may share its CPUs
  console.log(JSON.stringify({ openMs, cpuMs, rssMb: process.memoryUsage().rss / 2 ** 20, users: await d.countUsers() }));
  await d.close();
  process.exit(0);
}

/** A fresh process of this runtime opening `dir`. */
function coldOpen(dir: string): { openMs: number; cpuMs: number; rssMb: number; users: number } {
  const self = fileURLToPath(import.meta.url);
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  const args = g.Deno ? ["run", "-A", self] : g.Bun ? [self] : ["--import", "tsx", self];
  const r = spawnSync(process.execPath, [...args, "open", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cold open failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** Fills a folder to `size` users (10k per batch) and starts from a fresh journal. */
async function filled(size: number): Promise<{ dir: string; d: FileDriver }> {
  const dir = await mkdtemp(join(tmpdir(), "file-bench-"));
  const d = await open(dir);
  for (let i = 0; i < size; i += 10_000) {
    await d.importRecords(Array.from({ length: Math.min(10_000, size - i) }, (_, k) => user(i + k)), []);
  }
  // The fill itself triggers background compactions; the first call may only
  // join one of them, so go on until the journal is empty.
  do await d.compact(); while (d.stats().entries > 0);
  return { dir, d };
}

/** Copies a data folder as a crash would leave it (everything but the lock). */
async function copyFolder(dir: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), "file-bench-copy-"));
  for (const f of await readdir(dir)) if (f !== ".db_lock") await copyFile(join(dir, f), join(copy, f));
  return copy;
}

/** Three cold opens of `dir` in fresh processes; the median one. */
function startup(label: string, dir: string): void {
  const runs = [coldOpen(dir), coldOpen(dir), coldOpen(dir)].sort((a, b) => a.openMs - b.openMs);
  const { users, openMs, cpuMs, rssMb } = runs[1];
  console.log(
    `startup, ${users} users, ${label}: ${ms(openMs)} (CPU ${ms(cpuMs)}; fastest of 3 ${ms(runs[0].openMs)}), RSS ${rssMb.toFixed(0)} MB`,
  );
}

async function sequentialCreates(d: FileDriver, from: number, n: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await d.createUser(user(from + i));
    lat.push(performance.now() - t);
  }
  return lat.sort((a, b) => a - b);
}

const runtime = (globalThis as { Deno?: unknown }).Deno ? "deno" : (globalThis as { Bun?: unknown }).Bun ? "bun" : "node";
console.log(`file driver bench on ${runtime}, data in ${tmpdir()}`);
for (const size of [1_000, 10_000, 100_000]) {
  const { dir, d } = await filled(size);
  // Exactly `size` users, all in the snapshot: the folder a clean shutdown leaves.
  const clean = size === 100_000 ? await copyFolder(dir) : null;
  const lat = await sequentialCreates(d, size, 2_000);
  const before = d.stats().fsyncs;
  const t = performance.now();
  await Promise.all(Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; i < 32; i++) await d.createUser(user(size + 10_000 + w * 100 + i));
  }));
  const concurrentMs = performance.now() - t;
  console.log(
    `${size} users: create median ${ms(pct(lat, 0.5))}, p99 ${ms(pct(lat, 0.99))} (2000 sequential); ` +
      `64 concurrent clients: ${Math.round(2048 / (concurrentMs / 1000))} creates/s with ${
        d.stats().fsyncs - before
      } fsyncs for 2048 creates`,
  );
  if (clean) {
    // A background compaction while a timer measures how long the event loop is held.
    let maxLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 1);
      last = now;
    }, 1);
    const c0 = performance.now();
    await d.compact();
    clearInterval(timer);
    console.log(`compaction of ${await d.countUsers()} users: ${ms(performance.now() - c0)}, longest event-loop stall ${ms(maxLag)}`);
    // Snapshot plus a journal of 9,999 changes (just under a compaction), as a crash leaves it.
    await sequentialCreates(d, 300_000, 9_999);
    const crashed = await copyFolder(dir);
    await d.close();
    startup("cleanly closed", clean);
    startup("after a crash with 9,999 journal entries", crashed);
    await Promise.all([clean, crashed].map((f) => rm(f, { recursive: true, force: true })));
  } else {
    await d.close();
  }
  await rm(dir, { recursive: true, force: true });
}
