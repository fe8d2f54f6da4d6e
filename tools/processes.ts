import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/**
 * Starting and stopping the service as child processes: shared by the tests
 * (test/helpers/server.ts) and the benchmark (bench/lib/procs.ts), which add
 * their own policies (timeouts, pinning, clean-up) on top.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export type Runtime = "deno" | "bun" | "node";

declare const Deno: unknown;
declare const Bun: unknown;

/** The runtime running this file. */
export const RUNTIME: Runtime = typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node";

/** The command line that runs a TypeScript file on a runtime (the current one by default). */
export function tsCommand(file: string, runtime: Runtime = RUNTIME): [string, string[]] {
  if (runtime === "deno") return [join(ROOT, "node_modules/deno/deno"), ["run", "-A", file]];
  if (runtime === "bun") return [join(ROOT, "node_modules/bun/bin/bun.exe"), [file]];
  return [runtime === RUNTIME ? process.execPath : "node", ["--import", "tsx", file]];
}

/** The start command a user types, per runtime. */
export function startCommand(runtime: Runtime = RUNTIME): [string, string[]] {
  if (runtime === "deno") return [join(ROOT, "node_modules/deno/deno"), ["task", "start"]];
  if (runtime === "bun") return [join(ROOT, "node_modules/bun/bin/bun.exe"), ["run", "start"]];
  return ["npm", ["start"]];
}

/**
 * Signals a child's whole process group (children are started detached):
 * npm and `deno task` run the server as a grandchild, which must get it too.
 */
export function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    try {
      proc.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Resolves with the server's URL, its own pid (from its listening line: not
 * npm's) and its output so far, once it logs `listening on http://...`;
 * rejects if it exits first or takes longer than `timeoutMs` (the child is
 * then killed).
 */
export function untilListening(proc: ChildProcess, timeoutMs: number): Promise<{ url: string; pid: number; output: () => string }> {
  let out = "";
  let partial = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup(proc, "SIGKILL");
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Uint8Array) => {
      const text = new TextDecoder().decode(d);
      if (out.length < 200_000) out += text;
      else if (out.length < 2_000_000) {
        // Past 200 KB, a busy server's access lines are dropped: its warnings and errors are what tests look for.
        const lines = (partial + text).split("\n");
        partial = lines.pop()!;
        for (const line of lines) if (!line.includes(" info access ")) out += line + "\n";
      }
      // The service names its pid (npm runs it as a grandchild); other servers (the bench's ceiling) do not.
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)(?:[^\n]*?, pid (\d+),)?[^\n]*\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], pid: m[2] ? Number(m[2]) : proc.pid!, output: () => out });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}
