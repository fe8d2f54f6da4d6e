import { availableParallelism, cpus } from "node:os";
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";

/** Facts about this process that the server and the CLI both need. */

/**
 * The folder the user started the command from. Package runners start
 * scripts in the package's folder: npm and `deno task` say where the user
 * was in INIT_CWD (scripts/start.mjs sets it for `bun run`).
 */
export function invocationDir(): string {
  return process.env.INIT_CWD || process.cwd();
}

/** Cores this process may use: respects CPU affinity (taskset, container limits) where the runtime can tell. */
export function usableCores(): number {
  return typeof availableParallelism === "function" ? availableParallelism() : cpus().length || 1;
}

/**
 * Runs a full garbage collection once, where the runtime lets a program ask
 * for one (Bun.gc; V8's gc through --expose-gc on Node and Deno): loading a
 * large data folder leaves the file's bytes, its text and the parser's
 * garbage behind, which otherwise stay resident until the heap next fills.
 * Returns false where no collection could be asked for.
 */
export function collectGarbage(): boolean {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) {
    bun.gc(true);
    return true;
  }
  try {
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
    return true;
  } catch {
    return false;
  }
}
