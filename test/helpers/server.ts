import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import {
  ROOT,
  RUNTIME,
  type Runtime,
  signalGroup,
  startCommand as userStartCommand,
  tsCommand as plainTsCommand,
  untilListening,
} from "../../tools/processes.ts";

export { ROOT, RUNTIME };

export type Server = { url: string; proc: ChildProcess; output: () => string; stop: (signal?: NodeJS.Signals) => Promise<number | null> };

const scratchDirs = new Set<string>();
const removeScratchDirs = () => scratchDirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
process.once("exit", removeScratchDirs);
// `deno test` ends without node:process's exit event, with the web's unload.
(globalThis as { addEventListener?: (type: string, f: () => void) => void }).addEventListener?.("unload", removeScratchDirs);

/**
 * A fresh folder under the OS temp dir: the working directory of one test
 * process. A user's checkout may hold their own `.db_User.json` (the README
 * walkthrough leaves one); a test server started there would import it.
 * Removed when its process ends (startServer, runToEnd), else when the test
 * process exits: a test that names its own folder, or a server still
 * running when the test runner ends, leaves nothing behind in /tmp.
 */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "test-cwd-"));
  scratchDirs.add(dir);
  return dir;
}

/**
 * The environment of a test process started in `cwd`: npm and `deno task`
 * tell the service where the user ran the command in INIT_CWD (relative
 * DATA_DIR and KV_PATH resolve against it), and `npm test` passes the
 * checkout's own down to every child; DATA_DIR is `cwd` unless the test
 * names one.
 */
export function isolatedEnv(cwd: string, env: Record<string, string>): Record<string, string> {
  return { ...(process.env as Record<string, string>), INIT_CWD: cwd, DATA_DIR: cwd, NO_COLOR: "1", ...env };
}

/**
 * The command line that runs a TypeScript file of the checkout from any
 * folder: the file by its full path, and on Node tsx's loader by its path
 * (`--import tsx` looks for tsx from the working directory).
 */
export function tsCommand(file: string, runtime: Runtime = RUNTIME): [string, string[]] {
  const [bin, args] = plainTsCommand(resolve(ROOT, file), runtime);
  const loader = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
  return [bin, args.map((a) => (a === "tsx" ? loader : a))];
}

/** The start command a user types, per runtime, naming the checkout so that it runs from any folder. */
export function startCommand(runtime: Runtime = RUNTIME): [string, string[]] {
  const [bin, args] = userStartCommand(runtime);
  if (runtime === "deno") return [bin, ["task", "--config", join(ROOT, "deno.json"), ...args.slice(1)]];
  if (runtime === "bun") return [bin, ["run", "--cwd", ROOT, ...args.slice(1)]];
  return [bin, ["--prefix", ROOT, ...args]];
}

/**
 * Starts the real server as a child (on loopback, a free port) and resolves
 * once it logs its listening line. `cmd` defaults to the runtime's entry
 * file. It runs in a scratch folder of its own (removed once it stopped),
 * never in the checkout, unless the test gives a `cwd`.
 */
export async function startServer(
  env: Record<string, string>,
  cmd?: [string, string[]],
  timeoutMs = 30_000,
  cwd?: string,
): Promise<Server> {
  const [bin, args] = cmd ?? tsCommand(`src/entry/${RUNTIME}.ts`);
  const dir = cwd ?? scratchDir();
  const proc = spawn(bin, args, {
    cwd: dir,
    env: isolatedEnv(dir, { API_HOST: "127.0.0.1", API_PORT: "0", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<number | null>((res) =>
    proc.on("exit", (code) => {
      if (!cwd) rmSync(dir, { recursive: true, force: true });
      res(code);
    })
  );
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

/** Runs a command to completion (in a scratch folder, unless given a `cwd`) and returns its exit code and output. */
export function runToEnd(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
  input?: string,
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = cwd ?? scratchDir();
  return new Promise((resolve) => {
    const p = spawn(bin, args, { cwd: dir, env: isolatedEnv(dir, env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(timer);
      if (!cwd) rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI as a user runs it through the runtime's package scripts, naming the checkout so that it runs from any folder. */
export function cliCommand(args: string[], runtime: Runtime = RUNTIME): [string, string[]] {
  if (runtime === "deno") return [join(ROOT, "node_modules/deno/deno"), ["task", "--config", join(ROOT, "deno.json"), "cli", ...args]];
  if (runtime === "bun") return [join(ROOT, "node_modules/bun/bin/bun.exe"), ["run", "--cwd", ROOT, "cli", ...args]];
  return ["npm", ["--prefix", ROOT, "run", "--silent", "cli", "--", ...args]];
}

/**
 * A loopback port nobody listens on now, for a process that must know its
 * own port before it starts (nginx's configuration, a server whose
 * PUBLIC_URL names it).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
