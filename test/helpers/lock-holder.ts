/**
 * Holds the lock of a data folder in a process of its own, for lock tests:
 * `lock-holder.ts <dir> [hostname]` prints "held <pid>" once it holds the
 * lock, then waits until it is killed.
 */
import process from "node:process";
import { acquireLock } from "../../src/storage/file/lock.ts";
import { realFs } from "../../src/storage/fs.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const [dir, hostname = "test-host"] = args;
await acquireLock({ fs: realFs, dir, pid: process.pid, hostname, now: Date.now, log: () => {} });
process.stdout.write(`held ${process.pid}\n`);
setInterval(() => {}, 1 << 30);
