import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import process from "node:process";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

declare const Deno: unknown;
declare const Bun: unknown;

/** The runtime running this test file. */
export const RUNTIME: "deno" | "bun" | "node" = typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node";

/** Command line that runs a TypeScript file on a runtime (the current one by default). */
export function tsCommand(file: string, runtime = RUNTIME): [string, string[]] {
  if (runtime === "deno") return [join(ROOT, "node_modules/deno/deno"), ["run", "-A", file]];
  if (runtime === "bun") return [join(ROOT, "node_modules/bun/bin/bun.exe"), [file]];
  return [runtime === RUNTIME ? process.execPath : "node", ["--import", "tsx", file]];
}

/** The start command a user types, per runtime. */
export function startCommand(runtime = RUNTIME): [string, string[]] {
  if (runtime === "deno") return [join(ROOT, "node_modules/deno/deno"), ["task", "start"]];
  if (runtime === "bun") return [join(ROOT, "node_modules/bun/bin/bun.exe"), ["run", "start"]];
  return ["npm", ["start"]];
}

export type Server = { url: string; proc: ChildProcess; output: () => string; stop: (signal?: NodeJS.Signals) => Promise<number | null> };

/**
 * Starts the real server as a child (on loopback, a free port) and resolves
 * once it logs its listening line. `cmd` defaults to the runtime's entry file.
 */
export function startServer(env: Record<string, string>, cmd?: [string, string[]], timeoutMs = 30_000, cwd = ROOT): Promise<Server> {
  const [bin, args] = cmd ?? tsCommand(`src/entry/${RUNTIME}.ts`);
  const proc = spawn(bin, args, {
    cwd,
    env: { ...process.env, API_HOST: "127.0.0.1", API_PORT: "0", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const exited = new Promise<number | null>((res) => proc.on("exit", (code) => res(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(proc, "SIGKILL");
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          proc,
          output: () => out,
          stop: async (signal = "SIGTERM") => {
            // Signal the server itself (not a wrapper like npm, which would
            // report the signal instead of the server's exit code).
            const pid = /, pid (\d+),/.exec(out)?.[1];
            if (pid && signal !== "SIGKILL") {
              try {
                process.kill(Number(pid), signal);
              } catch {
                killGroup(proc, signal);
              }
            } else killGroup(proc, signal);
            return exited;
          },
        });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}

/** Signals the child's whole process group (npm and deno task start the server as a grandchild). */
export function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
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

/** Runs a command to completion and returns its exit code and output. */
export function runToEnd(
  bin: string, args: string[], env: Record<string, string>, timeoutMs = 30_000, input?: string, cwd = ROOT,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
