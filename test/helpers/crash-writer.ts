/**
 * Child process of test/crash.test.ts: opens the file driver on a folder and
 * hammers it with concurrent creates, updates and deletes until it is killed,
 * printing one line per ACKNOWLEDGED change (after its promise resolved):
 * `<user id> <number of acknowledged steps of that user>`.
 *
 * Usage: crash-writer.ts <dir> <round>
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { sha256Hex } from "../../src/lib/sha256.ts";
import { openFileDriver } from "../../src/storage/file/index.ts";
import { crashSteps, type Step } from "./crash-model.ts";

const [dir, round] = process.argv.slice(-2);
const driver = await openFileDriver({ dir, pid: process.pid, hostname: "crash-host", compactEvery: 300 });
// Written synchronously to fd 1: a line the parent reads was acknowledged,
// and no acknowledged line sits in a buffer that the kill would lose.
const say = (line: string) => writeSync(1, line + "\n");
say("ready");

async function run(step: Step, id: string): Promise<void> {
  const user = {
    id,
    created_at: "2024-01-01T00:00:00",
    updated_at: "2024-01-01T00:00:00",
    email: `${id}@crash.test`,
    _password: null,
    first_name: null as string | null,
    last_name: null,
  };
  switch (step) {
    case "create":
      return driver.createUser(user);
    case "session":
      return driver.createSession({
        id: `s-${id}`,
        created_at: user.created_at,
        updated_at: user.updated_at,
        user_id: id,
        session_id: sha256Hex(id),
      }, null);
    case "v1":
    case "v2":
      await driver.updateUser({ ...user, first_name: step });
      return;
    case "delete":
      await driver.deleteUser(id);
      return;
    case "logout":
      await driver.deleteSession(sha256Hex(id));
      return;
  }
}

async function worker(w: number): Promise<void> {
  for (let i = 0;; i++) {
    const id = `r${round}-w${w}-${i}`;
    const steps = crashSteps(i);
    for (let k = 0; k < steps.length; k++) {
      await run(steps[k], id);
      say(`${id} ${k + 1}`);
    }
  }
}

await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
