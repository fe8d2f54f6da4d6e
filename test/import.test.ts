import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { sha256Hex } from "../src/lib/sha256.ts";
import { pyDump, writeOriginalDataFolder } from "./helpers/seed-folder.ts";
import { cliCommand, isolatedEnv, RUNTIME, runToEnd, scratchDir, type Server, startCommand, startServer } from "./helpers/server.ts";

/**
 * An import is all or nothing whatever stops it: a server importing an old
 * data folder at its first start, or `cli import`, is interrupted at a
 * random moment (SIGINT or SIGKILL); the next start completes the import,
 * and the store ends with every user of the source exactly once.
 */

const USERS = 12_000;
const dirs: string[] = [];
const servers: Server[] = [];
after(async () => {
  for (const s of servers) await s.stop("SIGKILL").catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

/** A data folder of the original with USERS users and one session each for the first hundred. */
function sourceFolder(): string {
  const dir = temp("import-src-");
  const users: Record<string, unknown> = {};
  for (let i = 0; i < USERS; i++) {
    const id = `imp-${i}`;
    users[id] = {
      id,
      created_at: "2024-01-01T00:00:00",
      updated_at: "2024-01-01T00:00:00",
      email: `i${i}@import.test`,
      _password: sha256Hex(`pw-${i}`),
      first_name: null,
      last_name: null,
    };
  }
  const sessions: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) {
    sessions[`s-${i}`] = {
      id: `s-${i}`,
      created_at: "2024-01-01T00:00:00",
      updated_at: "2024-01-01T00:00:00",
      user_id: `imp-${i}`,
      session_id: `legacy-token-${i}`,
    };
  }
  writeFileSync(join(dir, ".db_User.json"), pyDump(users));
  writeFileSync(join(dir, ".db_UserSession.json"), pyDump(sessions));
  return dir;
}

/** Runs `cmd` and sends `signal` to it at a random point of its import (when it reports 10% to 80% done). */
function interrupt(cmd: [string, string[]], env: Record<string, string>, signal: NodeJS.Signals): Promise<string> {
  return new Promise((resolve, reject) => {
    const cwd = scratchDir();
    const p = spawn(cmd[0], cmd[1], {
      cwd,
      env: isolatedEnv(cwd, { API_HOST: "127.0.0.1", API_PORT: "0", ...env }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    let sent = false;
    const at = `(${10 * (1 + Math.floor(Math.random() * 8))}%)`;
    const onData = (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (!sent && out.includes(` users ${at}`)) {
        sent = true;
        try {
          process.kill(-p.pid!, signal);
        } catch { /* already gone */ }
      }
    };
    p.stdout!.on("data", onData);
    p.stderr!.on("data", onData);
    p.on("exit", (code, sig) => {
      if (!sent) reject(new Error(`finished (${code ?? sig}) before it could be interrupted:\n${out}`));
      else resolve(out);
    });
  });
}

async function checkAllOnce(url: string): Promise<void> {
  // A session of the source authenticates: sessions came along too.
  const headers = { Cookie: "_my_session_id=legacy-token-7" };
  const me = await fetch(`${url}/api/v1/users/me`, { headers });
  assert.equal(((await me.json()) as { id: string }).id, "imp-7");
  const stats = (await (await fetch(`${url}/api/v1/stats`, { headers })).json()) as { users: number };
  assert.equal(stats.users, USERS);
  const ids = ((await (await fetch(`${url}/api/v1/users`, { headers })).json()) as { id: string }[]).map((u) => u.id);
  assert.equal(ids.length, USERS);
  assert.equal(new Set(ids).size, USERS, "every user exactly once");
  assert.deepEqual(ids.slice(0, 3), ["imp-0", "imp-1", "imp-2"], "in the source's order");
}

describe(`interrupted imports into Deno KV on ${RUNTIME}`, { timeout: 240_000, concurrency: 2 }, () => {
  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    it(`a first start importing the data folder, stopped by ${signal}, is completed by the next start`, async () => {
      const source = sourceFolder();
      const env = { STORAGE: "kv", DATA_DIR: source, KV_PATH: join(temp("import-kv-"), "auth.kv"), AUTH_TYPE: "session_db_auth" };
      const first = await interrupt(startCommand(), env, signal);
      assert.doesNotMatch(first, /listening on/, "stopped during the import, before serving");
      const s = await startServer(env, startCommand(), 120_000);
      servers.push(s);
      assert.match(s.output(), /completing the import of .* that was stopped at [\d,]+\/12,000 users/);
      assert.match(s.output(), /STORAGE=kv at .*auth\.kv, 12000 users\)/);
      await checkAllOnce(s.url);
      assert.equal(await s.stop("SIGTERM"), 0);
      servers.splice(servers.indexOf(s), 1);
    });
  }

  const kvEnv = () => ({ STORAGE: "kv", DATA_DIR: temp("import-data-"), KV_PATH: join(temp("import-kv-"), "auth.kv") });

  it(`"cli import" stopped by SIGINT is completed by the next command; importing again adds nothing`, async () => {
    const source = sourceFolder();
    const env = kvEnv();
    await interrupt(cliCommand(["import", source]), env, "SIGINT");
    const list = await runToEnd(...cliCommand(["user", "list"]), env, 120_000);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /completing the import of/);
    const ids = list.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
    assert.equal(ids.length, USERS);
    assert.equal(new Set(ids).size, USERS, "every user exactly once");
    const again = await runToEnd(...cliCommand(["import", source]), env, 120_000);
    assert.equal(again.stdout, `imported 0 users, ${USERS} skipped\nimported 0 sessions, 100 skipped\n`, again.stderr);
  });

  it(`"cli import" stopped by SIGKILL is undone by "import --abort": the store is as it was`, async () => {
    const env = kvEnv();
    const before = await runToEnd(...cliCommand(["user", "add", "kept@import.test"]), env, 60_000, "a-long-password\n");
    assert.equal(before.code, 0, before.stderr);
    await interrupt(cliCommand(["import", sourceFolder()]), env, "SIGKILL");
    const aborted = await runToEnd(...cliCommand(["import", "--abort"]), env, 120_000);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.match(
      aborted.stdout,
      /^removed what the import of .* had added:\nremoved \d+ users, 0 skipped\nremoved \d+ sessions, 0 skipped\n$/,
    );
    const list = await runToEnd(...cliCommand(["user", "list"]), env, 60_000);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^[0-9a-f-]{36}\tkept@import\.test\t\t\t\S+\n$/, "only the user from before the import");
    assert.equal((await runToEnd(...cliCommand(["import", "--abort"]), env, 60_000)).stdout, "no unfinished import: nothing to do\n");
  });
});

describe(`memory storage starts empty on ${RUNTIME}`, () => {
  it("a server on STORAGE=memory in a folder holding the original's data files takes none of them in", async () => {
    const folder = writeOriginalDataFolder();
    try {
      // The folder is both the working folder and DATA_DIR, as `STORAGE=memory npm start` in a data folder.
      const s = await startServer({ STORAGE: "memory", DATA_DIR: folder }, undefined, 30_000, folder);
      try {
        assert.deepEqual(await (await fetch(`${s.url}/api/v1/stats`)).json(), { users: 0 });
        assert.doesNotMatch(s.output(), /imported the data files/);
      } finally {
        assert.equal(await s.stop("SIGTERM"), 0);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
