/**
 * Raw PBKDF2 throughput of one runtime: what a login can cost at best. Runs
 * `concurrency` loops of importKey + deriveBits (PBKDF2-HMAC-SHA256, the same
 * 600,000 iterations and the same two Web Crypto calls as
 * src/auth/password.ts) for `seconds`, then prints one JSON line:
 * `{"hashes", "seconds", "perSec", "ownCpu", "otherCpu"}` (CPU in cores).
 *
 *   <runtime> bench/pbkdf2.ts <concurrency> <seconds>
 *
 * The bench pins it to the server's core, so "logins/s over hashes/s" is
 * the share of that core the login route turns into password checks.
 */
import process from "node:process";
import { PBKDF2_ITERATIONS } from "../src/auth/password.ts";
import { cpuMeter } from "./lib/cpu.ts";

// Argument positions differ (deno run -A file args / bun file args / node file args): take the last two.
const args = process.argv.slice(-2).map(Number);
const concurrency = args[0] > 0 ? args[0] : 8;
const seconds = args[1] > 0 ? args[1] : 3;
const encoder = new TextEncoder();

async function hashOnce(i: number): Promise<void> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await crypto.subtle.importKey("raw", encoder.encode(`password-${i}`), "PBKDF2", false, ["deriveBits"]);
  await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: PBKDF2_ITERATIONS }, key, 256);
}

// One hash first: lazy initialisation (thread pools, OpenSSL/BoringSSL setup) is not throughput.
await hashOnce(-1);

let hashes = 0;
const meter = cpuMeter();
const start = performance.now();
const deadline = start + seconds * 1000;
// Hashes in flight when the deadline passes still finish and count, over the time they took.
await Promise.all(
  Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; performance.now() < deadline; i++) {
      await hashOnce(w * 1_000_000 + i);
      hashes++;
    }
  }),
);
const elapsed = (performance.now() - start) / 1000;
// ownCpu below 1 core: this process did not get its whole core; otherCpu: what others took of it (when pinned).
const { loadgenCpu: ownCpu, otherCpu } = meter();
process.stdout.write(JSON.stringify({ hashes, seconds: elapsed, perSec: hashes / elapsed, ownCpu, otherCpu }) + "\n");
// Bun and Deno may keep worker threads alive; nothing is left to wait for.
process.exit(0);
