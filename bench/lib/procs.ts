import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ROOT, type Runtime, signalGroup, tsCommand, untilListening } from "../../tools/processes.ts";

/*
 * Child processes of the bench: every server and helper runs in its own
 * process group (detached), so one signal to the group also reaches any
 * grandchild (tsx's esbuild, deno's workers). Everything started here is
 * registered and killed on exit, on Ctrl-C and on a crash; temp folders too.
 */

export { ROOT, type Runtime, tsCommand };

const live = new Set<ChildProcess>();
const temps = new Set<string>();
const hooks: (() => void)[] = [];

/** Runs `hook` (synchronous) when the bench cleans up: at exit, on Ctrl-C, on a crash. */
export function onCleanup(hook: () => void): void {
  hooks.push(hook);
}

/** `taskset` pinning needs the binary and both cores 0 and 1 in our CPU set (containers may restrict it). */
export const PINNING: boolean = spawnSync("taskset", ["-c", "0", "true"]).status === 0 &&
  spawnSync("taskset", ["-c", "1", "true"]).status === 0;

/** Prefixes `taskset -c <core>` (taskset execs, so the child's pid stays the real process's pid). */
export function pinned(core: number, [bin, args]: [string, string[]]): [string, string[]] {
  return PINNING ? ["taskset", ["-c", String(core), bin, ...args]] : [bin, args];
}

function launch([bin, args]: [string, string[]], env: Record<string, string>): ChildProcess {
  const proc = spawn(bin, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  live.add(proc);
  proc.on("exit", () => live.delete(proc));
  return proc;
}

export type Server = { url: string; pid: number; startupMs: number; output: () => string; stop: () => Promise<void> };

/** Starts a server and resolves at its `listening on http://...` line; `startupMs` is spawn to that line. */
export async function startServer(cmd: [string, string[]], env: Record<string, string>, timeoutMs = 60_000): Promise<Server> {
  const t0 = performance.now();
  const proc = launch(cmd, { API_HOST: "127.0.0.1", API_PORT: "0", ...env });
  const exited = new Promise<void>((res) => proc.once("exit", () => res()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    signalGroup(proc, "SIGTERM");
    // The file store rewrites its data files on SIGTERM: give it time, then force.
    const t = setTimeout(() => signalGroup(proc, "SIGKILL"), 20_000);
    await exited;
    clearTimeout(t);
    signalGroup(proc, "SIGKILL"); // stray grandchildren
  };
  const { url, output } = await untilListening(proc, timeoutMs);
  return { url, pid: proc.pid!, startupMs: performance.now() - t0, output, stop };
}

/**
 * Runs a helper to completion, calling `onLine` with each JSON object it
 * prints on stdout (one per line). Rejects on a non-zero exit or a timeout.
 */
export function runJsonLines(
  cmd: [string, string[]],
  env: Record<string, string>,
  onLine: (o: Record<string, unknown>) => void,
  timeoutMs: number,
): Promise<void> {
  const proc = launch(cmd, env);
  let buf = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line.startsWith("{")) onLine(JSON.parse(line));
    }
  });
  proc.stderr!.on("data", (d: Buffer) => {
    if (err.length < 20_000) err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => signalGroup(proc, "SIGKILL"), timeoutMs);
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      signalGroup(proc, "SIGKILL");
      if (code === 0) resolve();
      else {reject(
          new Error(`${cmd[1].join(" ")} failed (${code ?? signal}${signal === "SIGKILL" ? ", timed out?" : ""}):\n${err.slice(-4000)}`),
        );}
    });
  });
}

/** A temp folder, removed at exit. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bench-${prefix}-`));
  temps.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  temps.delete(dir);
}

/** Resident memory of one process, in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Pids of a process group: its CPU time includes helper processes (tsx's esbuild service, if any). */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Fields after the command name, which may hold spaces: state ppid pgrp ...
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid) pids.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** Kills every child group and removes temp folders; synchronous so it also works in `exit` handlers. */
export function cleanupAll(): void {
  for (const p of live) signalGroup(p, "SIGKILL");
  live.clear();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
  temps.clear();
  for (const hook of hooks.splice(0)) {
    try {
      hook();
    } catch {
      // best effort, like the rest of the clean-up
    }
  }
}

/** Our parent, its parent... up to 3 levels (npm, sh, tsx), as "pid<-ppid" pairs. */
function ancestors(): string[] {
  const out: string[] = [];
  let pid = process.ppid;
  for (let i = 0; i < 3 && pid > 1; i++) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.push(`${pid}<-${ppid}`);
      pid = ppid;
    } catch {
      out.push(`${pid} gone`);
      break;
    }
  }
  return out;
}

/** Ctrl-C, SIGTERM or a crash: kill the children, remove temp folders, exit non-zero. */
export function installCleanup(): void {
  const bail = (why: string, code: number) => {
    process.stderr.write(`\n${why}: stopping child servers and removing temp folders\n`);
    cleanupAll();
    process.exit(code);
  };
  process.on("SIGINT", () => bail("SIGINT", 130));
  process.on("SIGTERM", () => bail("SIGTERM", 143));
  process.on("SIGHUP", () => bail("SIGHUP", 129));
  // SIGTERM to npm alone (not to the terminal's whole group) ends npm but neither tsx nor us, and
  // nobody would ever stop the servers: a change in our chain of parents is the sign to stop.
  const chain = ancestors();
  setInterval(() => ancestors().join() !== chain.join() && bail("a parent process (npm, tsx) is gone", 1), 1000).unref();
  process.on("exit", cleanupAll);
  process.on("uncaughtException", (e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    bail("crash", 1);
  });
}
