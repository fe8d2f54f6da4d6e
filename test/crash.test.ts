import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../src/lib/sha256.ts";
import { crashSteps, stateAfter, type UserState } from "./helpers/crash-model.ts";
import { openOn, removeDir, tempDir } from "./helpers/file-fixtures.ts";

/**
 * kill -9 at a random moment must lose nothing acknowledged: a child process
 * (the runtime running this test) writes to a folder and reports each change
 * once its promise resolved; after the kill, the folder is reopened here and
 * every reported change must be in it.
 */

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = 4;

function childArgs(dir: string, round: number): string[] {
  const script = "test/helpers/crash-writer.ts";
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno) return ["run", "-A", script, dir, String(round)];
  if (g.Bun) return [script, dir, String(round)];
  return ["--import", "tsx", script, dir, String(round)];
}

/** Runs the writer, SIGKILLs it 200-900 ms after it is ready; returns user id -> acknowledged steps. */
function crashRound(dir: string, round: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, childArgs(dir, round), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const acked = new Map<string, number>();
    let pending = "";
    let stderr = "";
    let killed = false;
    child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    child.stdout!.on("data", (chunk) => {
      const lines = (pending + String(chunk)).split("\n");
      pending = lines.pop()!; // a line cut by the kill is not counted
      for (const line of lines) {
        if (line === "ready") {
          setTimeout(() => ((killed = true), child.kill("SIGKILL")), 200 + Math.random() * 700);
          continue;
        }
        const [id, steps] = line.split(" ");
        acked.set(id, Number(steps));
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (killed && signal === "SIGKILL") resolve(acked);
      else reject(new Error(`crash writer exited (${code ?? signal}) before the kill: ${stderr}`));
    });
  });
}

describe("file driver: kill -9", () => {
  it(`keeps every acknowledged change across ${ROUNDS} crashes`, async () => {
    const dir = await tempDir();
    const model = new Map<string, number>();
    let checked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [id, n] of await crashRound(dir, round)) model.set(id, n);
      const d = await openOn(dir, { hostname: "crash-host" });
      for (const [id, acked] of model) {
        const steps = crashSteps(Number(id.split("-").at(-1)));
        const user = await d.getUser(id);
        const actual: UserState = {
          exists: user !== null,
          firstName: user?.first_name ?? null,
          session: (await d.getSession(sha256Hex(id))) !== null,
        };
        // The step after the last acknowledged one may or may not have reached the disk.
        const allowed = [stateAfter(steps, acked), stateAfter(steps, Math.min(acked + 1, steps.length))];
        assert.ok(
          allowed.some((s) => JSON.stringify(s) === JSON.stringify(actual)),
          `${id}: ${acked} steps acknowledged, found ${JSON.stringify(actual)}`,
        );
        checked++;
      }
      const users = await d.listUsers();
      assert.equal(new Set(users.map((u) => u.email)).size, users.length, "no duplicated user");
      await d.close();
      // Closed cleanly: the two files parse, and hold every user once and no orphan session.
      const onDisk = JSON.parse(await readFile(join(dir, ".db_User.json"), "utf8"));
      assert.deepEqual(Object.keys(onDisk), users.map((u) => u.id));
      const sessions = Object.values(JSON.parse(await readFile(join(dir, ".db_UserSession.json"), "utf8")));
      for (const s of sessions as { user_id: string }[]) assert.ok(s.user_id in onDisk, "a deleted user's sessions went with it");
    }
    assert.ok(checked > 50, `only ${checked} acknowledged users checked`);
    await removeDir(dir);
  });
});
