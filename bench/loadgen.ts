/**
 * The load generator: a Node child that the bench pins to core 1 while the
 * servers sit on core 0. It runs a list of steps one after the other (one
 * process for a whole phase, so no process start lands between two
 * measurements); the jobs of a step run concurrently (a login storm plus a
 * light /status probe). After each step it prints one JSON line.
 *
 *   node --import tsx bench/loadgen.ts '<spec json>'
 *
 * Jobs: "cannon" (autocannon, keep-alive HTTP/1.1, for fast requests) and
 * "loop" (fetch in a closed loop, for slow ones: logins, creates).
 */
import { createRequire } from "node:module";
import process from "node:process";
import { cpuMeter, type CpuUse } from "./lib/cpu.ts";

export type CannonJob = {
  kind: "cannon";
  label: string;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  pipelining?: number;
  /** Overall requests per second (a light probe); unset: as fast as the server answers. */
  rate?: number;
  /** Pids whose CPU use over the run is reported (the target server's process group). */
  cpuPids?: number[];
};
export type LoopJob = {
  kind: "loop";
  label: string;
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  concurrency: number;
  count: number;
  seconds: number;
  expect: number;
  cpuPids?: number[];
};
export type Step = { label: string; jobs: (CannonJob | LoopJob)[] };
export type JobResult = CpuUse & {
  label: string;
  count: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
};

const req = createRequire(new URL("../node_modules/autocannon/package.json", import.meta.url));
type CannonResult = {
  "2xx": number;
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; max: number };
};
const autocannon = req("autocannon") as (o: Record<string, unknown>) => Promise<CannonResult>;
const hdr = req("hdr-histogram-js");

/**
 * autocannon keeps latencies in an integer histogram of milliseconds, too
 * coarse for sub-millisecond GETs; this one records microseconds instead,
 * so every latency figure it reports is in µs.
 */
function microsecondHistogram() {
  const h = hdr.build({
    useWebAssembly: true,
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 1e8,
    numberOfSignificantValueDigits: 3,
  });
  const record = h.recordValue.bind(h);
  h.recordValue = (ms: number) => record(Math.max(1, Math.round(ms * 1000)));
  return h;
}

async function cannon(j: CannonJob): Promise<JobResult> {
  const meter = cpuMeter(j.cpuPids);
  const r = await autocannon({
    url: j.url,
    method: j.method ?? "GET",
    headers: j.headers,
    body: j.body,
    connections: j.connections,
    pipelining: j.pipelining ?? 1,
    duration: j.seconds,
    overallRate: j.rate,
    ignoreCoordinatedOmission: j.rate !== undefined,
    histograms: { latencies: microsecondHistogram() },
  });
  const cpu = meter();
  const ok = r["2xx"];
  return {
    label: j.label,
    count: ok,
    seconds: r.duration,
    rps: ok / r.duration,
    p50Ms: r.latency.p50 / 1000,
    p99Ms: r.latency.p99 / 1000,
    maxMs: r.latency.max / 1000,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    ...cpu,
  };
}

/**
 * A closed loop of `concurrency` workers, each sending its next request when
 * the previous one is answered, until `count` or `seconds`. Requests in
 * flight at the deadline still finish and count, over the time they took:
 * with 2-second logins, dropping them (as autocannon does) would waste up to
 * `concurrency` half-done password checks and understate the rate, while
 * bench/pbkdf2.ts, the figure it is compared with, counts them too.
 * `{i}` in the body becomes the request's number (fresh emails for creates),
 * `{w}` in a header value the worker's (one client address per worker).
 */
async function loop(j: LoopJob): Promise<JobResult> {
  const latenciesMs: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let next = 0;
  const meter = cpuMeter(j.cpuPids);
  const t0 = performance.now();
  const deadline = t0 + j.seconds * 1000;
  await Promise.all(
    Array.from({ length: j.concurrency }, async (_, w) => {
      const headers = Object.fromEntries(Object.entries(j.headers ?? {}).map(([k, v]) => [k, v.replaceAll("{w}", String(w))]));
      while (next < j.count && performance.now() < deadline) {
        const i = next++;
        const t = performance.now();
        try {
          const res = await fetch(j.url, { method: j.method, headers, body: j.body?.replaceAll("{i}", String(i)) });
          await res.arrayBuffer();
          if (res.status === j.expect) latenciesMs.push(performance.now() - t);
          else non2xx++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return {
    label: j.label,
    count: sorted.length,
    seconds,
    rps: sorted.length / seconds,
    p50Ms: q(50),
    p99Ms: q(99),
    maxMs: q(100),
    non2xx,
    errors,
    ...meter(),
  };
}

const steps = JSON.parse(process.argv.at(-1)!) as Step[];
for (const step of steps) {
  const results = await Promise.all(step.jobs.map((j) => (j.kind === "cannon" ? cannon(j) : loop(j))));
  process.stdout.write(JSON.stringify({ step: step.label, results }) + "\n");
}
process.exit(0);
