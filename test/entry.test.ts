import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { isPidAlive } from "../src/entry/common.ts";

describe("lock holder check", () => {
  it("sees live processes, gone ones, and zombies (killed, not yet reaped) as gone", { skip: !existsSync("/proc/self") && "needs /proc" }, async () => {
    assert.equal(isPidAlive(process.pid), true);
    assert.equal(isPidAlive(2 ** 22 + 12345), false);
    // The shell starts a short child, then becomes `sleep 5`, which never
    // reaps it: once the child exits it stays a zombie for a few seconds.
    const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 5"], { stdio: ["ignore", "pipe", "ignore"] });
    const pid = await new Promise<number>((resolve) => parent.stdout!.once("data", (d) => resolve(Number(String(d).trim()))));
    try {
      assert.equal(isPidAlive(pid), true, "running");
      const deadline = Date.now() + 3000;
      while (!readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(readFileSync(`/proc/${pid}/stat`, "utf8"), /\) Z /, "the child is a zombie now");
      assert.equal(isPidAlive(pid), false, "a zombie holds nothing");
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
