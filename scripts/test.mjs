// Runs the test suite on Deno, Bun and Node (in that order, so that Node's
// test runner prints the closing summary) and fails if any runtime fails.
// `node scripts/test.mjs node` (or deno, bun) runs one runtime only.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = readdirSync(join(root, "test"))
  .filter((f) => f.endsWith(".test.ts"))
  .sort()
  .map((f) => `test/${f}`);
const wanted = process.argv.slice(2);

// Under `bun run test`, `node` on PATH is Bun in disguise (bunfig.toml):
// the runs below get a PATH without that stand-in, so the Node pass and the
// `npm start` it tests really run on Node.
const isBunStandIn = (dir) => {
  const candidate = join(dir, "node");
  try {
    return existsSync(candidate) && /bun/i.test(realpathSync(candidate));
  } catch {
    return false;
  }
};
const PATH = (process.env.PATH ?? "").split(":").filter((dir) => !isBunStandIn(dir)).join(":");
function realNode() {
  if (!process.versions.bun) return process.execPath;
  for (const dir of PATH.split(":")) if (existsSync(join(dir, "node"))) return join(dir, "node");
  return "node";
}
const runtimes = {
  deno: ["node_modules/deno/deno", ["test", "--allow-all", "--no-check", ...files]],
  bun: ["node_modules/bun/bin/bun.exe", ["test", "--timeout", "120000", ...files.map((f) => `./${f}`)]],
  node: [realNode(), ["--import", "tsx", "--test", "--test-timeout", "120000", ...files]],
};
// A production install (`npm ci --omit=dev`) has no Deno or Bun binary: say
// so in one line instead of reporting a runtime's failure without a cause.
const missing = Object.entries(runtimes)
  .filter(([name, [cmd]]) => (!wanted.length || wanted.includes(name)) && name !== "node" && !existsSync(join(root, cmd)))
  .map(([name]) => name);
if (missing.length) {
  console.error(
    `The test suite needs the development dependencies (${missing.join(", ")} not installed in node_modules): ` +
      "run `npm ci` without --omit=dev, then `npm test`.",
  );
  process.exit(1);
}
const failed = [];
for (const [name, [cmd, args]] of Object.entries(runtimes)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n=== ${name}: ${files.length} test files ===`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, PATH, NO_COLOR: "1" } });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(name);
  // Nothing is printed after a passing Node run: its runner's summary stays the last lines.
  if (r.status !== 0 || name !== "node") {
    console.log(`=== ${name}: ${r.status === 0 ? "passed" : `FAILED (exit ${r.status ?? r.signal})`} in ${secs} s ===`);
  }
}
if (failed.length) {
  console.error(`\nTest suite failed on: ${failed.join(", ")}`);
  process.exit(1);
}
