import { availableParallelism, cpus } from "node:os";
import process from "node:process";

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
