/**
 * Whether a change made logins dearer: this checkout's login route against
 * another checkout's (a `git worktree` of an earlier commit, its own
 * `npm ci` done), same runtime, same core, same seed (file storage, a user
 * without a second factor), 8 clients, storms interleaved in alternating
 * order. Prints logins/s and the server's CPU per login (which other
 * tenants of a shared machine barely move) for each, then the medians and
 * their ratios (this ÷ other):
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)
 *   npx tsx bench/login-compare.ts /tmp/before [--runtimes node,bun,deno] [--reps 6] [--seconds 10]
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { JobResult } from "./loadgen.ts";
import { loadgen, loginStorm, option } from "./lib/drive.ts";
import { cpuPerReq, median } from "./lib/figures.ts";
import { cleanupAll, installCleanup, pinned, ROOT, type Runtime, type Server, startServer, tempDir } from "./lib/procs.ts";
import { writeSeed } from "./lib/seed.ts";

const argv = process.argv.slice(2);
const other = argv[0] && !argv[0].startsWith("--") ? resolve(argv[0]) : "";
if (!other || !existsSync(join(other, "src/entry/node.ts")) || !existsSync(join(other, "node_modules"))) {
  console.error(
    "usage: npx tsx bench/login-compare.ts <other checkout, with its node_modules> [--runtimes node,bun,deno] [--reps 6] [--seconds 10]",
  );
  process.exit(2);
}
const runtimes = option("runtimes", "node,bun,deno").split(",").map((s) => s.trim()) as Runtime[];
const reps = Number(option("reps", "6"));
const seconds = Number(option("seconds", "10"));
if (runtimes.some((r) => !["deno", "bun", "node"].includes(r)) || !(reps >= 1) || !(seconds >= 1)) {
  console.error("--runtimes takes deno, bun, node; --reps and --seconds take positive numbers");
  process.exit(2);
}

/** The entry file of a checkout, run by that checkout's own runtime binaries and loader. */
function command(root: string, rt: Runtime): [string, string[]] {
  const file = join(root, `src/entry/${rt}.ts`);
  if (rt === "deno") return [join(root, "node_modules/deno/deno"), ["run", "-A", "--config", join(root, "deno.json"), file]];
  if (rt === "bun") return [join(root, "node_modules/bun/bin/bun.exe"), [file]];
  return [process.execPath, ["--import", pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href, file]];
}

const ENV = { SESSION_NAME: "_my_session_id", LOG_LEVEL: "info", AUTH_TYPE: "session_db_auth", TRUST_PROXY: "true", STORAGE: "file" };
const SIDES = [["this", ROOT], ["other", other]] as const;
const fixed = (x: number, d = 2) => x.toFixed(d);

installCleanup();
for (const rt of runtimes) {
  const servers = new Map<string, Server>();
  const figures = new Map(SIDES.map(([name]) => [name, { rps: [] as number[], cpuMs: [] as number[] }]));
  for (const [name, root] of SIDES) {
    const dir = tempDir("login-compare");
    await writeSeed(dir, 1_000);
    servers.set(name, await startServer(pinned(0, command(root, rt)), { ...ENV, DATA_DIR: dir }));
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const [name] of rep % 2 ? [...SIDES].reverse() : SIDES) {
      const server = servers.get(name)!;
      await loadgen([{
        label: name,
        jobs: [loginStorm(server.url, server.pid, seconds)],
      }], (_label, [r]: JobResult[]) => {
        const cpuMs = cpuPerReq(r) / 1000;
        figures.get(name)!.rps.push(r.rps);
        figures.get(name)!.cpuMs.push(cpuMs);
        console.log(
          `${rt} ${name} #${rep + 1}: ${fixed(r.rps)} logins/s, server CPU ${fixed(cpuMs, 1)} ms/login, ` +
            `others ${fixed(r.otherCpu)} of the core${r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ""}`,
        );
      });
    }
  }
  for (const server of servers.values()) await server.stop();
  const [a, b] = [figures.get("this")!, figures.get("other")!];
  console.log(
    `${rt}: logins/s ${fixed(median(a.rps))} (this) vs ${fixed(median(b.rps))} (other), ratio ${
      fixed(median(a.rps) / median(b.rps), 3)
    }; ` +
      `CPU/login ${fixed(median(a.cpuMs), 1)} vs ${fixed(median(b.cpuMs), 1)} ms, ratio ${fixed(median(a.cpuMs) / median(b.cpuMs), 3)}`,
  );
}
cleanupAll();
process.exit(0);
