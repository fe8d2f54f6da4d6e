import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { freePort } from "./server.ts";

/**
 * A throwaway PostgreSQL cluster of its own (initdb, a free port, trust
 * for the `postgres` role), for tests that stop, crash and freeze the
 * server: never the shared one. Needs root (the server runs as the
 * `postgres` user, through runuser) and PostgreSQL's server binaries.
 */

function binDir(): string | null {
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (existsSync(join(dir, "initdb"))) return dir;
  } catch {
    // no pg_config: look where Debian puts the binaries
  }
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb"))) ?? null;
}

/** Why a throwaway cluster cannot be made here, or null when it can. */
export function clusterUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (the throwaway PostgreSQL runs as the postgres user)";
  if (!binDir()) return "needs PostgreSQL's server binaries (initdb, pg_ctl)";
  if (spawnSync("id", ["postgres"]).status !== 0) return "needs a postgres user";
  return null;
}

export type Cluster = {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url: (database: string) => string;
  start: () => void;
  /** `pg_ctl stop -m immediate`: what a crash or a kill -9 of the server does to its clients. */
  stop: () => void;
  /** SIGSTOP (or SIGCONT) to the postmaster and every backend: a server that accepts connections and never answers. */
  freeze: () => void;
  thaw: () => void;
  destroy: () => void;
};

/**
 * Creates and starts a cluster. `hba` lines go first in pg_hba.conf
 * (say, password authentication for one role); every other connection
 * from 127.0.0.1 is trusted.
 */
export async function createCluster(hba: string[] = []): Promise<Cluster> {
  const bin = binDir()!;
  const dir = mkdtempSync(join(tmpdir(), "pg-cluster-"));
  const pgUser = execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim();
  const pgGroup = execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim();
  chownSync(dir, Number(pgUser), Number(pgGroup));
  const asPostgres = (cmd: string, args: string[]) => {
    const r = spawnSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  };
  asPostgres("initdb", ["-D", dir, "--auth=trust", "-U", "postgres", "--no-sync"]);
  const hbaFile = join(dir, "pg_hba.conf");
  writeFileSync(hbaFile, [...hba, readFileSync(hbaFile, "utf8")].join("\n"));
  const port = await freePort();
  const pids = () => {
    const pm = readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n")[0].trim();
    const children = execFileSync("ps", ["-o", "pid=", "--ppid", pm], { encoding: "utf8" }).split("\n").map((s) => s.trim()).filter(
      Boolean,
    );
    return [pm, ...children].map(Number);
  };
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  const cluster: Cluster = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: () =>
      asPostgres("pg_ctl", [
        "-D",
        dir,
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        "-l",
        join(dir, "log"),
        "-w",
        "-t",
        "30",
        "start",
      ]),
    stop: () => asPostgres("pg_ctl", ["-D", dir, "-m", "immediate", "-w", "stop"]),
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    destroy: () => {
      if (existsSync(join(dir, "postmaster.pid"))) {
        signal("SIGCONT");
        spawnSync("runuser", ["-u", "postgres", "--", join(bin, "pg_ctl"), "-D", dir, "-m", "immediate", "-w", "stop"], {
          timeout: 30_000,
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    cluster.start();
  } catch (e) {
    cluster.destroy();
    throw e;
  }
  return cluster;
}
