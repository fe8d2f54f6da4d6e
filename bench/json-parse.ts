/**
 * The floor for a start on a data folder: read the original's two data files
 * and `JSON.parse` them, nothing else, in a fresh process of the runtime
 * under test. Prints one JSON line: `{"parseMs", "bytes", "rssMiB"}` (the
 * process's resident memory with the parsed data still held).
 *
 *   <runtime> bench/json-parse.ts <dir>
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { SESSION_FILE, USER_FILE } from "../src/storage/data-files/format.ts";

const dir = process.argv.at(-1)!;
let bytes = 0;
const t0 = performance.now();
const kept: unknown[] = [];
for (const name of [USER_FILE, SESSION_FILE]) {
  const path = join(dir, name);
  if (!existsSync(path)) continue;
  const text = readFileSync(path, "utf8");
  bytes += statSync(path).size;
  kept.push(JSON.parse(text));
}
const parseMs = performance.now() - t0;
const rssMiB = process.memoryUsage().rss / 2 ** 20;
process.stdout.write(JSON.stringify({ parseMs, bytes, rssMiB, files: kept.length }) + "\n");
