/**
 * Whether the time of `POST /api/v1/auth_session/password_reset` tells an
 * email with an account from one without: a real server (file storage,
 * the bench seed, email to an SMTP server in this process), requests for
 * a known and an unknown email interleaved (each pair in a random order,
 * one at a time, each from its own client address so the per-address limit
 * never answers instead), then the median of each and their ratio.
 *
 *   npx tsx bench/reset-timing.ts [--runtime node|deno|bun] [--pairs 400] [--json]
 *
 * `npm run bench` runs it too (on Node), and adds its line to the report.
 */
import process from "node:process";
import { startSmtp } from "../test/helpers/smtp.ts";
import { option } from "./lib/drive.ts";
import { median } from "./lib/figures.ts";
import { cleanupAll, installCleanup, removeDir, type Runtime, startServer, tempDir, tsCommand } from "./lib/procs.ts";
import { BENCH_USER, writeSeed } from "./lib/seed.ts";

const argv = process.argv.slice(2);
const runtime = option("runtime", "node") as Runtime;
const pairs = Number(option("pairs", "400"));
const asJson = argv.includes("--json");
const WARM_UP = 50;

installCleanup();
const smtp = await startSmtp();
const dir = tempDir("reset-timing-");
await writeSeed(dir, 1_000);
const server = await startServer(tsCommand(`src/entry/${runtime}.ts`, runtime), {
  AUTH_TYPE: "session_db_auth",
  STORAGE: "file",
  DATA_DIR: dir,
  SMTP_URL: smtp.url,
  PUBLIC_URL: "http://localhost",
  TRUST_PROXY: "1",
  LOG_LEVEL: "info",
});

let client = 0;
/** One request's time in ms, from a client address of its own. */
async function timed(email: string): Promise<number> {
  client++;
  const started = performance.now();
  const r = await fetch(`${server.url}/api/v1/auth_session/password_reset`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client & 255}` },
    body: JSON.stringify({ email }),
  });
  await r.arrayBuffer();
  const ms = performance.now() - started;
  if (r.status !== 202) throw new Error(`password_reset answered ${r.status}`);
  return ms;
}

const known: number[] = [];
const unknown: number[] = [];
try {
  for (let i = 0; i < WARM_UP + pairs; i++) {
    const order = Math.random() < 0.5 ? [true, false] : [false, true];
    for (const isKnown of order) {
      const ms = await timed(isKnown ? BENCH_USER.email : `nobody${i}@bench.io`);
      if (i >= WARM_UP) (isKnown ? known : unknown).push(ms);
    }
  }
} finally {
  await server.stop();
  await smtp.stop();
  removeDir(dir);
  cleanupAll();
}

const result = {
  runtime,
  pairs,
  knownMedianMs: median(known),
  unknownMedianMs: median(unknown),
  ratio: median(known) / median(unknown),
  // At most 3 emails an hour per account: the rest of the known requests sent nothing, and cost the same.
  emails: smtp.received.length,
};
if (asJson) console.log(JSON.stringify(result));
else {
  console.log(
    `password_reset on ${runtime}, ${pairs} interleaved pairs: known email median ${result.knownMedianMs.toFixed(3)} ms, ` +
      `unknown ${result.unknownMedianMs.toFixed(3)} ms, ratio ${result.ratio.toFixed(3)} (${result.emails} emails sent)`,
  );
}
