import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { RUNTIME, type Server, startCommand, startServer } from "./helpers/server.ts";

/** Whether a process is still running (a zombie left for init to reap counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== "linux") return true;
  try {
    // /proc/<pid>/stat: "pid (comm) state ...": the comm may hold spaces, the state follows its last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Whether anything still answers on the server's port. */
async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/api/v1/status`, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** Polls `done` every 100 ms for up to `limitMs` (a bound against a hang, not a timing check). */
async function within(limitMs: number, done: () => boolean | Promise<boolean>): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return done();
}

/**
 * What a process manager does: it started `npm start` (or `bun run start`,
 * `deno task start`) and signals the PID it knows, the launcher's, never
 * the server's. No server may be left running, adopted by init.
 */
const LAUNCHER = { node: "npm start", bun: "bun run start", deno: "deno task start" }[RUNTIME];

describe(`the launcher of ${LAUNCHER}`, () => {
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    it(`${signal} to the launcher alone stops the server cleanly`, { timeout: 120_000 }, async () => {
      let s: Server | null = null;
      let serverPid = 0;
      try {
        s = await startServer({ STORAGE: "memory" }, startCommand(), 90_000);
        serverPid = Number(/, pid (\d+),/.exec(s.output())![1]);
        assert.notEqual(serverPid, s.proc.pid, "the launcher is not the server");
        assert.ok(await answers(s.url));

        process.kill(s.proc.pid!, signal);

        assert.ok(await within(15_000, async () => !(await answers(s!.url))), "the port still answers");
        assert.ok(await within(15_000, () => !running(serverPid)), `server ${serverPid} still running:\n${s.output()}`);
        assert.ok(await within(15_000, () => !running(s!.proc.pid!)), "the launcher still running");
        // It stopped as it does on a signal of its own (its stop line), not killed mid-request.
        // (A hang-up is not a stop request the server handles: that it is gone is what counts.)
        if (signal !== "SIGHUP") assert.match(s.output(), /info (SIGTERM|SIGINT|SIGHUP): stopping\n[^]*info stopped\n/, s.output());
      } finally {
        if (serverPid && running(serverPid)) process.kill(serverPid, "SIGKILL");
        if (s && s.proc.exitCode === null) await s.stop("SIGKILL");
      }
    });
  }
});
