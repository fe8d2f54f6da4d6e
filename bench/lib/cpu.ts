import { readFileSync } from "node:fs";
import process from "node:process";

/*
 * CPU accounting from /proc (Linux), runtime-neutral (node:fs works on Deno,
 * Bun and Node). Pinning keeps our processes apart, but other tenants of
 * this shared machine run on either core: each measurement therefore also
 * reports how much of each core "others" took meanwhile, so a noisy sample
 * can be told from a slow service.
 */

const TICK_S = 0.01; // USER_HZ is 100 on Linux
/** The cores the bench pins to: servers and helpers on 0, the load generator on 1. */
export const SERVER_CORE = 0;
export const LOADGEN_CORE = 1;

/** Busy ticks of one core ("cpu0"), or of the whole machine ("cpu"); steal (the hypervisor running someone else) counts. */
function busyTicks(line: string): number {
  const row = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(line + " "));
  if (!row) return NaN;
  const f = row.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
}

/** utime + stime ticks of some processes (all their threads). */
function pidTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      t += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return t;
}

/**
 * In cores, averaged over the interval: the server under test, this process
 * (the load generator), and what anything else took of the server's core and
 * of the load generator's core.
 */
export type CpuUse = { serverCpu?: number; loadgenCpu: number; otherCpu: number; otherGenCpu: number };

/** The one core this process may run on (taskset), or null when it is not pinned. */
function ownCore(): number | null {
  const m = /Cpus_allowed_list:\s*(\d+)\s*$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : null;
}

/**
 * Starts metering `pids` (pinned to SERVER_CORE) and this process. When this
 * process is not pinned (no taskset), everything shares the machine and
 * `otherCpu` is the machine's busy time minus ours.
 */
export function cpuMeter(pids: number[] = []): () => CpuUse {
  const core = ownCore();
  const pinned = core !== null;
  const lines = pinned ? [`cpu${SERVER_CORE}`, `cpu${LOADGEN_CORE}`] : ["cpu"];
  const ticks0 = pidTicks(pids);
  const busy0 = lines.map(busyTicks);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const serverCpu = ((pidTicks(pids) - ticks0) * TICK_S) / wall;
    const loadgenCpu = (own.user + own.system) / 1e6 / wall;
    const busy = lines.map((l, i) => ((busyTicks(l) - busy0[i]) * TICK_S) / wall);
    if (!pinned) {
      return {
        serverCpu: pids.length ? serverCpu : undefined,
        loadgenCpu,
        otherCpu: Math.max(0, busy[0] - serverCpu - loadgenCpu),
        otherGenCpu: 0,
      };
    }
    const onServerCore = serverCpu + (core === SERVER_CORE ? loadgenCpu : 0);
    const onGenCore = core === LOADGEN_CORE ? loadgenCpu : 0;
    return {
      serverCpu: pids.length ? serverCpu : undefined,
      loadgenCpu,
      otherCpu: Math.max(0, busy[0] - onServerCore),
      otherGenCpu: Math.max(0, busy[1] - onGenCore),
    };
  };
}
