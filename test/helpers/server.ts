import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { ROOT, RUNTIME, signalGroup, startCommand, tsCommand, untilListening } from "../../tools/processes.ts";

export { ROOT, RUNTIME, startCommand, tsCommand };

export type Server = { url: string; proc: ChildProcess; output: () => string; stop: (signal?: NodeJS.Signals) => Promise<number | null> };

/**
 * Starts the real server as a child (on loopback, a free port) and resolves
 * once it logs its listening line. `cmd` defaults to the runtime's entry file.
 */
export async function startServer(env: Record<string, string>, cmd?: [string, string[]], timeoutMs = 30_000, cwd = ROOT): Promise<Server> {
  const [bin, args] = cmd ?? tsCommand(`src/entry/${RUNTIME}.ts`);
  const proc = spawn(bin, args, {
    cwd,
    env: { ...process.env, API_HOST: "127.0.0.1", API_PORT: "0", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<number | null>((res) => proc.on("exit", (code) => res(code)));
  const { url, pid, output } = await untilListening(proc, timeoutMs);
  return {
    url,
    proc,
    output,
    stop: (signal = "SIGTERM") => {
      // Signal the server itself (not a wrapper like npm, which would
      // report the signal instead of the server's exit code).
      if (signal !== "SIGKILL") {
        try {
          process.kill(pid, signal);
        } catch {
          signalGroup(proc, signal);
        }
      } else signalGroup(proc, signal);
      return exited;
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export function runToEnd(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
  input?: string,
  cwd = ROOT,
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
