import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, readdir, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { StartupError } from "../src/domain/errors.ts";
import { openOn, removeDir, tempDir } from "./helpers/file-fixtures.ts";
import { ROOT, RUNTIME, runToEnd, type Server, startCommand, startServer, tsCommand } from "./helpers/server.ts";
import { pyDump } from "./helpers/seed-folder.ts";
import { sha256Hex } from "../src/lib/sha256.ts";

type Runtime = "deno" | "bun" | "node";

/** Starts test/helpers/lock-holder.ts on `runtime`; resolves once it holds the lock of `dir`. */
function holdLock(dir: string, runtime: Runtime = RUNTIME, hostname = "test-host"): Promise<{ proc: ChildProcess; pid: number }> {
  const [bin, args] = tsCommand("test/helpers/lock-holder.ts", runtime);
  const proc = spawn(bin, [...args, dir, hostname], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d) => {
      out += String(d);
      const m = /held (\d+)/.exec(out);
      if (m) resolve({ proc, pid: Number(m[1]) });
    });
    proc.stderr!.on("data", (d) => (out += String(d)));
    proc.on("exit", (code) => reject(new Error(`lock holder exited with ${code}: ${out}`)));
  });
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    process.kill(proc.pid!, "SIGKILL");
  });
}

describe("data folder lock", () => {
  it("refuses a second open in the same process, naming the holder, and frees the folder on close", async () => {
    const dir = await tempDir();
    const first = await openOn(dir);
    await assert.rejects(openOn(dir), (e: Error) => {
      assert.ok(e instanceof StartupError);
      assert.ok(e.message.includes(`Data folder ${dir} is in use by process ${process.pid} on test-host`), e.message);
      return true;
    });
    await first.close();
    await (await openOn(dir)).close();
    assert.deepEqual(await readdir(dir), [], "lock files are removed on close");
    await removeDir(dir);
  });

  it("refuses a folder held by a live process, even a stopped one, and takes over once it is killed", async () => {
    const dir = await tempDir();
    const holder = await holdLock(dir);
    try {
      await assert.rejects(openOn(dir), { message: new RegExp(`in use by process ${holder.pid} on test-host`) });
      // A stopped process is alive: the kernel still accepts connections for it.
      // process.kill, not proc.kill: Deno's ChildProcess sends only the first signal.
      process.kill(holder.pid, "SIGSTOP");
      await assert.rejects(openOn(dir), { message: new RegExp(`in use by process ${holder.pid}`) });
      process.kill(holder.pid, "SIGCONT");
    } finally {
      await killed(holder.proc);
    }
    const logs: string[] = [];
    const d = await openOn(dir, {}, logs);
    assert.ok(logs.some((l) => l.includes("Took over the lock") && l.includes(`process ${holder.pid}`)), logs.join("\n"));
    await d.close();
    assert.deepEqual(await readdir(dir), []);
    await removeDir(dir);
  });

  it("does not take over a dead-looking lock of another host (a shared network folder)", async () => {
    const dir = await tempDir();
    const holder = await holdLock(dir, RUNTIME, "other-host");
    await killed(holder.proc);
    await assert.rejects(openOn(dir), { message: /locked by process \d+ on another host, other-host/ });
    await removeDir(dir);
  });

  it("works in a folder whose path is too long for a socket address", async () => {
    const base = await tempDir();
    const dir = join(base, "a".repeat(60), "b".repeat(60));
    await mkdir(dir, { recursive: true });
    const holder = await holdLock(dir);
    await assert.rejects(openOn(dir), { message: new RegExp(`in use by process ${holder.pid}`) });
    await killed(holder.proc);
    const d = await openOn(dir);
    await d.close();
    assert.deepEqual(await readdir(dir), []);
    await removeDir(base);
  });

  it("removes a takeover file left by a starter that crashed mid-takeover", async () => {
    const dir = await tempDir();
    const holder = await holdLock(dir);
    await killed(holder.proc);
    const takeover = join(dir, ".db_lock.takeover");
    await writeFile(takeover, "");
    const old = new Date(Date.now() - 60_000);
    await utimes(takeover, old, old);
    const d = await openOn(dir);
    await d.close();
    await assert.rejects(stat(takeover), { code: "ENOENT" });
    await removeDir(dir);
  });
});

/**
 * The real thing: servers started as users start them, killed with SIGKILL
 * while they acknowledge writes, restarted on the same folder by the same or
 * another runtime. Each pass also pairs its runtime with a partner, so that
 * the three passes together cover Deno, Bun and Node as holder and starter.
 */
const PARTNER: Record<Runtime, Runtime> = { deno: "node", node: "deno", bun: "deno" };
const OTHER: Record<Runtime, Runtime> = { deno: "bun", node: "bun", bun: "node" };

describe(`kill -9 and restart, servers of ${RUNTIME} and ${PARTNER[RUNTIME]}`, () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.stop("SIGKILL").catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A data folder of the original with `n` users whose first names writers will count up. */
  function seededFolder(n: number): { dir: string; ids: string[] } {
    const dir = mkdtempSync(join(tmpdir(), "lock-e2e-"));
    dirs.push(dir);
    const ids = Array.from({ length: n }, (_, i) => `user-${i}`);
    const users = Object.fromEntries(ids.map((id, i) => [id, {
      id,
      created_at: "2024-01-01T00:00:00",
      updated_at: "2024-01-01T00:00:00",
      email: `u${i}@lock.test`,
      _password: sha256Hex("password-" + i),
      first_name: "0",
      last_name: null,
    }]));
    writeFileSync(join(dir, ".db_User.json"), pyDump(users));
    return { dir, ids };
  }

  /**
   * Keeps `workers` writers busy renaming users (each user owned by one
   * writer, so its values only go up) until `stop()`; returns, per user, the
   * last value acknowledged with a 200.
   */
  function writeLoad(url: string, ids: string[], workers = 6) {
    const acked = new Map<string, number>();
    let running = true;
    const loops = Array.from({ length: workers }, async (_, w) => {
      const mine = ids.filter((_, i) => i % workers === w);
      for (let round = 1; running; round++) {
        for (const id of mine) {
          if (!running) return;
          try {
            const r = await fetch(`${url}/api/v1/users/${id}`, {
              method: "PUT",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ first_name: String(round) }),
            });
            if (r.status === 200) acked.set(id, round);
            await r.body?.cancel();
          } catch {
            return; // the server is gone
          }
        }
      }
    });
    return { acked, stop: async () => ((running = false), await Promise.all(loops)) };
  }

  async function crashAndRestart(holder: Runtime, starter: Runtime): Promise<void> {
    const { dir, ids } = seededFolder(24);
    const first = await startServer({ DATA_DIR: dir }, startCommand(holder));
    servers.push(first);
    const load = writeLoad(first.url, ids);
    // Killed mid-load: once writes are flowing (a loaded machine may take a while), at a random moment.
    for (const until = performance.now() + 15_000; performance.now() < until;) {
      if ([...load.acked.values()].some((v) => v > 1)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, Math.random() * 500));
    await first.stop("SIGKILL");
    await load.stop();
    servers.splice(servers.indexOf(first), 1);
    assert.ok([...load.acked.values()].some((v) => v > 1), `the ${holder} server acknowledged writes before the kill`);

    const t0 = performance.now();
    const second = await startServer({ DATA_DIR: dir }, startCommand(starter));
    servers.push(second);
    const startMs = Math.round(performance.now() - t0);
    assert.match(second.output(), /Took over the lock/);
    assert.match(second.output(), new RegExp(`\\(${starter} `), `the restart runs on ${starter}`);
    const users = (await (await fetch(`${second.url}/api/v1/users`)).json()) as { id: string; first_name: string }[];
    const byId = new Map(users.map((u) => [u.id, Number(u.first_name)]));
    for (const id of ids) {
      const acked = load.acked.get(id) ?? 0;
      const found = byId.get(id);
      // The write in flight at the kill may or may not have landed; nothing acknowledged may be missing.
      assert.ok(found === acked || found === acked + 1, `${id}: acknowledged ${acked}, found ${found}`);
    }
    console.log(`# ${holder} killed with ${load.acked.size} users written; ${starter} took over and listened ${startMs} ms after spawn`);

    // A live holder is never displaced, whatever runtime tries.
    const third = OTHER[starter] === holder ? OTHER[holder] : OTHER[starter];
    const [bin, args] = startCommand(third);
    const refused = await runToEnd(bin, args, { DATA_DIR: dir, API_HOST: "127.0.0.1", API_PORT: "0" }, 60_000);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    const pid = /, pid (\d+),/.exec(second.output())![1];
    assert.match(refused.stderr, new RegExp(`in use by process ${pid} `));
    // One line of ours (the package runner may add its own "exited with code 1"), no stack trace.
    assert.equal(refused.stderr.split("\n").filter((l) => l.includes("in use by")).length, 1, refused.stderr);
    assert.doesNotMatch(refused.stderr, /^\s+at /m, refused.stderr);

    assert.equal(await second.stop("SIGTERM"), 0);
    servers.splice(servers.indexOf(second), 1);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".db_lock")), [], "a clean stop releases the lock");
  }

  it(`${RUNTIME} killed, ${RUNTIME} restarts`, () => crashAndRestart(RUNTIME, RUNTIME));
  it(`${RUNTIME} killed, ${PARTNER[RUNTIME]} restarts`, () => crashAndRestart(RUNTIME, PARTNER[RUNTIME]));
  it(`${PARTNER[RUNTIME]} killed, ${RUNTIME} restarts`, () => crashAndRestart(PARTNER[RUNTIME], RUNTIME));
});
